"""AsymNet (ml.seed.asymnet): shapes, fusion-node gates, a training step, checkpoint round trip.
Random tensors only: nothing here reads the benchmark data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from ml.seed.asymnet import AsymNet, AsymNetConfig, AsymNetScorer, fuse, save_checkpoint, windows

C = 32  # a small trunk width keeps the tests fast; the real one is 1280


def _cfg(**kw):
    base = dict(feat_dim=C, reduce=8, dim=16, traj_len=8, ssn_hidden=16, tree=(8, 4, 2), dropout=0.0)
    base.update(kw)
    return AsymNetConfig(**base)


def _batch(seed=0, B=4, K=4, L=5):
    g = torch.Generator().manual_seed(seed)
    crops = torch.rand(B, 8, L, C, generator=g)
    shop = torch.rand(B, K, L, C, generator=g)
    y = torch.tensor([[1.0, 1.0, 0.0, 0.0]] * B)
    shop[:, :2] = crops[:, :2].clone()  # positives look like the trajectory
    return crops, shop, y


@pytest.mark.parametrize("levels", [1, 5])
def test_it_scores_every_shop_image_of_every_trajectory(levels):
    torch.manual_seed(0)
    m = AsymNet(_cfg()).eval()
    crops, shop, _ = _batch(L=levels)
    for fusion in ("tree", "avg", "max", "last"):
        p = m(crops, shop, fusion)
        assert p.shape == (4, 4)
        assert torch.all((p >= 0) & (p <= 1))


def test_the_default_tree_is_the_papers_five_levels():
    cfg = AsymNetConfig()
    assert cfg.tree == (32, 16, 8, 4, 2) and cfg.traj_len == 32 and cfg.lstm_layers == 2
    m = AsymNet(cfg)
    assert [g.shape[0] for g in m.fusion.gates] == [16, 8, 4, 2, 1]


def test_it_rejects_a_tree_that_does_not_divide():
    with pytest.raises(ValueError):
        AsymNetConfig(traj_len=32, tree=(32, 12))
    with pytest.raises(ValueError):
        AsymNetConfig(traj_len=16, tree=(32, 16))


def test_fusion_node_gate_weights_sum_to_one():
    torch.manual_seed(0)
    m = AsymNet(_cfg()).eval()
    for g in m.fusion.gates:  # non-trivial gates
        torch.nn.init.normal_(g, std=1.0)
    crops, shop, _ = _batch()
    h, s = m.video(crops), m.shop(shop)
    p = torch.sigmoid(m.leaf_logits(h, s))
    P, gates = fuse(m, p, h, s, "tree")
    assert len(gates) == 3  # 8 -> 4 -> 2 -> root
    for g in gates:
        assert torch.allclose(g.sum(-1), torch.ones(g.shape[:-1]), atol=1e-6)
    # a mixture of the leaves: never outside their range
    assert torch.all(P <= p.max(-1).values + 1e-6) and torch.all(P >= p.min(-1).values - 1e-6)


def test_a_training_step_lowers_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    m = AsymNet(_cfg())
    crops, shop, y = _batch()
    opt = torch.optim.Adam([p for n, p in m.named_parameters() if not n.startswith("fusion.")], lr=1e-2)

    def step1_loss():
        logit = m.leaf_logits(m.video(crops), m.shop(shop))
        return F.binary_cross_entropy_with_logits(logit, y[:, :, None].expand_as(logit))

    before = step1_loss().item()
    for _ in range(5):
        loss = step1_loss()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert step1_loss().item() < before
    # step 2: the fusion nodes alone raise the mixture likelihood
    with torch.no_grad():
        h, s = m.video(crops), m.shop(shop)
        p = torch.sigmoid(m.leaf_logits(h, s))
    opt2 = torch.optim.Adam(m.fusion.parameters(), lr=5e-2)

    def nll():
        return F.binary_cross_entropy(fuse(m, p, h, s, "tree")[0].clamp(1e-6, 1 - 1e-6), y)

    before = nll().item()
    for _ in range(5):
        loss = nll()
        opt2.zero_grad()
        loss.backward()
        opt2.step()
    assert nll().item() < before


def test_windows_cover_any_tracklet_length():
    assert [len(w) for w in windows(5, 32)] == [32]
    ws = windows(70, 32, 16)
    assert all(len(w) == 32 for w in ws) and ws[-1][-1] == 69 and ws[0][0] == 0


def test_the_checkpoint_loads_and_scores(tmp_path):
    torch.manual_seed(0)
    m = AsymNet(_cfg())
    path = str(tmp_path / "asym.pt")
    save_checkpoint(m, path, {"note": "test"})
    sc = AsymNetScorer.load(path)
    assert sc.meta == {"note": "test"}
    rng = np.random.default_rng(0)
    crops = rng.random((11, C)).astype(np.float32)  # level-1 features, as the pipeline gives
    prods = [rng.random((3, C)).astype(np.float32), rng.random((5, C)).astype(np.float32)]
    out = sc.score(crops, prods)
    assert out.shape == (2,) and np.all((out >= 0) & (out <= 1))
    out5 = sc.score(rng.random((40, 5, C)).astype(np.float32), np.stack([rng.random((2, 5 * C))] * 3).astype(np.float32))
    assert out5.shape == (3,)
    assert np.allclose(out5, out5[0])  # identical products score identically
    with pytest.raises(ValueError):
        sc.score(rng.random((4, C + 1)).astype(np.float32), prods)


def _prior_model(**kw):
    """visual prior on, no PCA (the prior is the raw cosine), similarity networks silenced."""
    torch.manual_seed(0)
    m = AsymNet(_cfg(reduce=0, visual_prior=True, prior_init=4.0, **kw)).eval()
    torch.nn.init.zeros_(m.ssn.fc2.weight)
    return m


def test_the_visual_prior_makes_an_untrained_network_rank_by_cosine():
    m = _prior_model()
    crops, shop, _ = _batch(L=1)
    p = m(crops, shop, "avg")  # (B,K): sigmoid(b + beta * cos) averaged over the states
    a = torch.nn.functional.normalize(crops[:, :, 0], dim=-1)
    s = torch.nn.functional.normalize(shop[:, :, 0], dim=-1)
    cos = torch.einsum("btc,bkc->bkt", a, s)
    assert torch.equal(p.argsort(-1), torch.sigmoid(m.ssn.fc2.bias + m.prior_w * cos).mean(-1).argsort(-1))
    # without the prior the same silenced network cannot tell the images apart
    m0 = AsymNet(_cfg(reduce=0, visual_prior=False)).eval()
    torch.nn.init.zeros_(m0.ssn.fc2.weight)
    p0 = m0(crops, shop, "avg")
    assert torch.allclose(p0, p0[:, :1].expand_as(p0))


def test_score_many_reranks_a_shortlist_of_the_nearest_products():
    m = _prior_model()
    rng = np.random.default_rng(1)
    prods = [rng.random((2, C)).astype(np.float32) for _ in range(5)]
    near = prods[3].mean(0)
    trajs = [np.stack([near + rng.normal(0, 0.01, C) for _ in range(6)]).astype(np.float32),
             rng.random((40, C)).astype(np.float32)]  # 40 crops: several sliding windows
    sc = AsymNetScorer(m, top_k=2).fit_catalog(prods)
    out = sc.score_many(trajs)
    assert out.shape == (2, 5)
    assert (out[0] > 0).sum() == 2  # one window: only its shortlist is scored, the rest left at 0
    assert 2 <= (out[1] > 0).sum() <= 5  # several windows: each its own shortlist, averaged
    assert out[0].argmax() == 3
    full = AsymNetScorer(m, top_k=0).fit_catalog(prods).score_many(trajs)
    assert (full > 0).all() and full[0].argmax() == 3
    assert np.allclose(out[0][out[0] > 0], full[0][out[0] > 0], atol=1e-6)  # same numbers where shortlisted
    assert AsymNetScorer(m).fit_catalog(prods).score_many([]).shape == (0, 5)


def test_product_pool_views_averages_the_probabilities_of_each_view():
    m = _prior_model()
    rng = np.random.default_rng(2)
    prods = [rng.random((3, C)).astype(np.float32) for _ in range(3)]
    traj = [rng.random((8, C)).astype(np.float32)]
    per_view = AsymNetScorer(m, top_k=0, product_pool="views").fit_catalog(prods)
    assert per_view.shop_.shape[0] == 9 and per_view.score_many(traj).shape == (1, 3)
    with pytest.raises(ValueError):
        AsymNetScorer(m, product_pool="best")
