"""Shots, proposals and tracking on frames composed from real grocery photos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from ml.structuring.proposals import ProposalOptions, Proposer, box_iou, nms, spectral_residual
from ml.structuring.shots import ShotDetector
from ml.structuring.tracking import Tracker, TrackerOptions
from ml.types import Frame, Proposals
from ml.visual.embedder import read_rgb

GROCERY = Path(__file__).parents[2] / "data" / "grocery"
W, H = 480, 320


def photo(name: str, size: int = 120) -> np.ndarray:
    return cv2.resize(read_rgb(str(GROCERY / name)), (size, size), interpolation=cv2.INTER_AREA)


def scene(items=(), bg=(110, 110, 110)) -> np.ndarray:
    """A plain backdrop with photos pasted at (x, y)."""
    img = np.zeros((H, W, 3), np.uint8)
    img[:] = bg
    for p, (x, y) in items:
        img[y:y + p.shape[0], x:x + p.shape[1]] = p
    return img


def frames(images, t0=0.0):
    return [Frame(i, t0 + i, img) for i, img in enumerate(images)]


# --------------------------------------------------------------------------- shots
def test_shot_detector_cuts_at_scene_changes_not_at_small_moves():
    juice, oat = photo("Bravo-Apple-Juice__test_Bravo-Apple-Juice_001.jpg", 300), photo(
        "Oatly-Oat-Milk__test_Oatly-Oat-Milk_001.jpg", 300)
    imgs = [scene([(juice, (60 + 8 * i, 10))]) for i in range(4)]
    imgs += [scene([(oat, (100 - 6 * i, 15))], bg=(40, 60, 30)) for i in range(4)]
    imgs += [scene([(juice, (80, 10))]) for _ in range(3)]
    det = ShotDetector()
    cuts = [det.update(f) for f in frames(imgs)]
    assert [i for i, c in enumerate(cuts) if c] == [0, 4, 8]
    assert det.finish().starts.tolist() == [0.0, 4.0, 8.0]


def test_one_static_shot_has_one_start():
    det = ShotDetector()
    for f in frames([scene([(photo("Banana__iconic.jpg"), (100, 100))])] * 5):
        det.update(f)
    assert det.finish().starts.tolist() == [0.0]


# --------------------------------------------------------------------------- proposals
def test_nms_and_iou():
    boxes = np.float32([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]])
    assert box_iou(boxes[:1], boxes[1:2])[0, 0] == pytest.approx(81 / 100)
    assert nms(boxes, np.float32([0.9, 0.8, 0.7]), 0.5).tolist() == [0, 2]


def test_spectral_residual_highlights_an_object_on_a_plain_background():
    img = scene([(photo("Pomegranate__iconic.jpg", 90), (300, 60))])
    sal = spectral_residual(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY))
    assert sal.shape == (H, W)
    assert sal[60:150, 300:390].mean() > 3 * sal[200:, :200].mean()


def test_proposals_include_the_frame_and_find_a_pasted_product():
    product = photo("Oatly-Oat-Milk__test_Oatly-Oat-Milk_001.jpg", 110)
    proposer = Proposer(ProposalOptions(max_boxes=4))
    out = proposer.propose(Frame(0, 0.0, scene([(product, (320, 150))])))
    assert 2 < len(out) <= 4
    assert list(out.source[:2]) == ["frame", "frame"]
    assert out.xyxy[0].tolist() == [0, 0, W, H]
    truth = np.float32([[320, 150, 430, 260]])
    assert box_iou(out.xyxy[2:], truth).max() > 0.5
    assert (out.frame_index == 0).all() and (out.tracker_id == -1).all()


def test_motion_proposals_follow_a_moving_product_under_a_camera_pan():
    product = photo("Banana__test_Banana_017.jpg", 100)
    shelf = read_rgb(str(GROCERY / "Bravo-Apple-Juice__test_Bravo-Apple-Juice_001.jpg"))  # 348 px
    texture = np.concatenate([shelf, shelf[:, ::-1]], axis=1)[:H, :W + 80]
    proposer = Proposer(ProposalOptions(use_saliency=False))
    outs = []
    for i in range(3):
        img = texture[:, 10 * i:10 * i + W].copy()  # the camera pans 10 px a frame
        img[100:200, 60 + 90 * i:160 + 90 * i] = product  # the product moves 90 px a frame
        outs.append(proposer.propose(Frame(i, float(i), img)))
    moved = outs[2][outs[2].source == "motion"]
    assert len(moved) >= 1
    assert box_iou(moved.xyxy, np.float32([[240, 100, 340, 200]])).max() > 0.3


def test_catalog_search_finds_a_textured_package_by_keypoints():
    pack = read_rgb(str(GROCERY / "Bravo-Apple-Juice__iconic.jpg"))
    shelf = photo("Bravo-Apple-Juice__iconic.jpg", 160)
    img = scene([(shelf, (250, 80))])
    proposer = Proposer(ProposalOptions(use_catalog_search=True, use_saliency=False, use_motion=False),
                        catalog_images=[pack, read_rgb(str(GROCERY / "Banana__iconic.jpg"))])
    out = proposer.propose(Frame(0, 0.0, img))
    found = out[out.source == "catalog"]
    assert len(found) == 1
    assert box_iou(found.xyxy, np.float32([[250, 80, 410, 240]]))[0, 0] > 0.5


# --------------------------------------------------------------------------- tracking
def _proposals(frame: Frame, boxes, sources, embeddings=None) -> Proposals:
    n = len(boxes)
    return Proposals(np.float32(boxes), np.ones(n), np.full(n, frame.index), np.full(n, frame.t),
                     np.array(sources, dtype=object), embeddings=embeddings)


def _unit(v):
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


def test_tracker_keeps_one_id_for_a_product_moving_across_frames():
    product = photo("Banana__test_Banana_017.jpg", 100)
    tracker = Tracker()
    ids = []
    emb = np.stack([_unit([1, 0, 0]), _unit([1, 0.05, 0])])
    for f in frames([scene([(product, (60 + 20 * i, 100))]) for i in range(5)]):
        props = _proposals(f, [[0, 0, W, H], [60 + 20 * f.index, 100, 160 + 20 * f.index, 200]], ["frame", "saliency"],
                           emb)
        before = props.tracker_id.copy()
        out = tracker.update(f, props)
        assert np.array_equal(props.tracker_id, before)  # the input is not mutated
        assert isinstance(out, Proposals) and np.array_equal(out.embeddings, emb)  # same type, vectors kept
        ids.append(out.tracker_id[:2].tolist())
    assert len({i[0] for i in ids}) == 1 and len({i[1] for i in ids}) == 1 and ids[0][0] != ids[0][1]
    tracklets = tracker.finish()
    assert sorted(len(t.t) for t in tracklets) == [5, 5]
    assert all(t.embeddings.shape == (5, 3) for t in tracklets)


def test_tracker_starts_a_new_track_when_the_content_of_a_box_changes():
    tracker = Tracker()
    f = frames([scene()] * 2)
    a = tracker.update(f[0], _proposals(f[0], [[0, 0, W, H]], ["frame"], _unit([[1, 0, 0]]).reshape(1, 3)))
    b = tracker.update(f[1], _proposals(f[1], [[0, 0, W, H]], ["frame"], _unit([[0, 1, 0]]).reshape(1, 3)))
    assert a.tracker_id[0] != b.tracker_id[0]


def test_tracks_end_at_a_cut_and_appearance_relinks_a_product_that_comes_back():
    tracker = Tracker(TrackerOptions(max_missing=0))
    product, other = _unit([1, 0.1, 0]), _unit([0, 0, 1])
    f = frames([scene()] * 6)
    plan = [(product, False), (product, False), (other, True), (other, False), (product, True), (product, False)]
    ids = []
    for fr, (e, cut) in zip(f, plan):
        out = tracker.update(fr, _proposals(fr, [[100, 100, 200, 200]], ["saliency"], e.reshape(1, 3)), new_shot=cut)
        ids.append(int(out.tracker_id[0]))
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[4] == ids[5]
    assert len(set(ids)) == 3  # online: the cut ended the first track
    tracklets = tracker.finish()
    assert len(tracklets) == 2  # offline: the product's two visits are one tracklet
    assert sorted(t.t.tolist() for t in tracklets) == [[0.0, 1.0, 4.0, 5.0], [2.0, 3.0]]


def _relinked_in_one_pass(raw, o: TrackerOptions):
    """The re-linking of a pass over the whole stream at its end (what ``finish`` did before it
    went online): in start order (then the order tracks ended), each track continues the best
    earlier one within ``relink_gap_s`` whose mean embedding is at least ``relink_cosine`` alike."""
    merged = []
    for tr in sorted(raw, key=lambda tr: (tr.start_s, tr.end_s, tr.track_id)):
        best, best_cos = None, o.relink_cosine
        for prev in merged:
            if prev["t"][-1] >= tr.start_s or tr.start_s - prev["t"][-1] > o.relink_gap_s:
                continue
            c = float(tr.feature() @ _unit(np.sum(prev["emb"], axis=0)))
            if c >= best_cos:
                best, best_cos = prev, c
        if best is None:
            merged.append({"id": tr.track_id, "t": list(tr.t), "emb": list(tr.embeddings)})
        else:
            best["t"] += list(tr.t)
            best["emb"] += list(tr.embeddings)
    return sorted((m["id"], m["t"]) for m in merged)


def test_online_relinking_hands_tracklets_over_during_the_stream_and_equals_one_pass_at_the_end():
    rng = np.random.default_rng(7)
    products = [_unit(rng.normal(size=16)) for _ in range(6)]
    image = scene()
    stream = []  # per frame: (boxes, embeddings, cut)
    objects = []  # [product, box, frames left]
    for i in range(900):
        cut = i > 0 and rng.random() < 0.05
        if cut:
            objects = []
        objects = [o for o in objects if o[2] > 0]
        if len(objects) < 3 and rng.random() < 0.3:
            x, y = rng.integers(0, 300), rng.integers(0, 200)
            objects.append([int(rng.integers(0, 6)), [x, y, x + 100, y + 80], int(rng.integers(1, 12))])
        boxes, embs = [], []
        for o in objects:
            o[2] -= 1
            if rng.random() < 0.9:  # missed now and then
                boxes.append(o[1])
                embs.append(_unit(products[o[0]] + rng.normal(scale=0.08, size=16)))
        stream.append((boxes, np.float32(embs).reshape(-1, 16), cut))

    def run(options):
        tracker, during = Tracker(options), []
        for f, (boxes, embs, cut) in zip(frames([image] * len(stream)), stream):
            tracker.update(f, _proposals(f, boxes or np.zeros((0, 4)), ["saliency"] * len(boxes), embs), new_shot=cut)
            during += tracker.pop_final()
        return during, tracker.finish()

    online = TrackerOptions(use_kcf=False)
    during, rest = run(online)
    raw_during, raw_rest = run(TrackerOptions(use_kcf=False, relink_cosine=2.0))  # never re-links
    raw = raw_during + raw_rest
    relinked = sorted(during + rest, key=lambda tr: (tr.start_s, tr.track_id))
    assert len(relinked) < len(raw) - 50  # the stream has many re-entries
    assert len(during) >= 0.9 * len(relinked)  # most come out long before the end
    assert sorted((tr.track_id, list(tr.t)) for tr in relinked) == _relinked_in_one_pass(raw, online)
    for tr in relinked:
        assert tr.embeddings.shape == (len(tr.t), 16)
