"""LXMERT-style fusion (ml.seed.lxmert_fusion): shapes, a contrastive step, checkpoint round trip.
Random tensors only: no benchmark data, no MiniLM (text vectors are passed in)."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from ml.seed.lxmert_fusion import LxmertFusion, LxmertFusionConfig, LxmertScorer, random_boxes, save

CFG = dict(feat_dim=24, text_dim=12, hidden=32, heads=2, l_layers=1, r_layers=1, x_layers=1, n_visual=4,
           max_texts=3, dropout=0.0)


def _batch(B=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    vis = torch.rand(B, 4, 24, generator=g)
    boxes = torch.from_numpy(np.stack([random_boxes(np.random.default_rng(i), 4) for i in range(B)]))
    X = torch.rand(B, 3, 12, generator=g)
    M = torch.tensor([[1, 1, 0]] * B, dtype=torch.float32)
    img, title = vis.mean(1), X[:, 0]
    return vis, boxes, X, M, img, title


def test_query_and_product_embeddings_are_unit_vectors():
    torch.manual_seed(0)
    m = LxmertFusion(LxmertFusionConfig(**CFG)).eval()
    vis, boxes, X, M, img, title = _batch()
    q, p = m.query(vis, boxes, X, M), m.product(img, title)
    assert q.shape == (6, 32) and p.shape == (6, 32)
    assert torch.allclose(q.norm(dim=-1), torch.ones(6), atol=1e-5)
    assert torch.allclose(p.norm(dim=-1), torch.ones(6), atol=1e-5)
    # a window without any text still works (only the [CLS] token)
    assert m.query(vis, boxes, X, torch.zeros_like(M)).shape == (6, 32)


def test_a_contrastive_step_lowers_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    m = LxmertFusion(LxmertFusionConfig(**CFG))
    vis, boxes, X, M, img, title = _batch()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)

    def loss_fn():
        logits = m.log_temp.exp() * m.query(vis, boxes, X, M) @ m.product(img, title).T
        t = torch.arange(6)
        return 0.5 * (F.cross_entropy(logits, t) + F.cross_entropy(logits.T, t))

    m.eval()
    before = loss_fn().item()
    for _ in range(5):
        loss = loss_fn()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss_fn().item() < before


def test_the_checkpoint_loads_and_scores(tmp_path):
    torch.manual_seed(0)
    path = str(tmp_path / "lx.pt")
    save(LxmertFusion(LxmertFusionConfig(**CFG)), path, {"steps": 0})
    sc = LxmertScorer.load(path)
    rng = np.random.default_rng(0)
    out = sc.score(rng.random((9, 24)), random_boxes(rng, 9), ["hello", "the red bag"],
                   [rng.random((2, 24)), rng.random((3, 24))], rng.random((2, 12)),
                   text_vectors=rng.random((2, 12)))
    assert out.shape == (2,) and np.all(np.abs(out) <= 1 + 1e-5)
