"""The whole pipeline: video + catalog (+ comments) -> LocalizationResult.

    result = localize("v.mp4", "catalog_dir", comments="c.csv", progress=cb)

Stages: probe -> (speech in a background thread: audio -> ASR) while the main thread streams
frames through the visual analyzer (proposals, tracking, embeddings) and the screen-text
reader -> text matching of speech windows, screen text and comments against product texts ->
learned fusion -> localization. Speech and vision overlap because both spend their time in
native code (CTranslate2, ONNX Runtime) that releases the GIL.

``progress(stage: str, fraction: float)`` is called as work advances (fraction in [0,1] for the
whole run); it may raise ``ml.errors.CancelledError`` to stop. Input problems raise
``ml.errors.InputError`` with one line a person can act on.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from .catalog import load_catalog
from .comments import load_comments
from .types import (Catalog, Evidence, FeatureKey, Features, LocalizationResult, ScoreCurves, TextEvents,
                    TrackletInfo, Transcript)

Progress = Callable[[str, float], None]
ALL_MODALITIES = ("visual", "speech", "screen_text", "comments")


@dataclass
class PipelineOptions:
    fps: float = 1.0  # frames sampled per second for vision
    step_s: float = 1.0  # time step of the score curves
    max_side: int = 640  # frames are resized so the longer side is at most this
    # Screen text (RapidOCR) is opt-in: on the validation split it did not help (fused mAP 0.880
    # with it, 0.893 without) and it was 30 % of the run time on the benchmark.
    modalities: tuple[str, ...] = ("visual", "speech", "comments")
    # "tracklet" (Vis.Trk, cosine of windowed tracklet means), "image" (Vis.Img: per-frame),
    # "asymnet" (Video2Shop's AsymNet over tracklet windows) or "lxmert" (LXMERT-style fusion of
    # tracklet crops and the window's text): ml.fusion.VISUAL_FEATURES. "lxmert" won on the
    # validation episodes (fused mAP(0.3:0.7) 0.807 vs 0.772 on 15) but lost on the test split,
    # whose catalogs draw on 4x more look-alike products (all 18 test episodes: mAP avg 72.2 vs
    # 76.3, R@1 78.7 vs 86.8): the README's "Seed models" section says why "tracklet" stays default.
    visual_mode: str = "tracklet"
    # seed-model features computed besides the chosen one (training runs compute both, so one
    # pass over the training episodes serves every fusion subset)
    extra_visual: tuple[str, ...] = ()
    text_window_s: float = 8.0
    asr_backend: str = "faster-whisper"  # or "openai-whisper" (GPU workers)
    asr_checkpoint: str = ""  # openai-whisper checkpoint path
    device: str = "cpu"
    fusion: str = "v2"  # fusion bundle in ml/models/fusion_<name>.json; "none" = features only
    threads: int = 2  # CPU threads of each network (image, sentence, Whisper): a worker's share of the cores
    # the learned projection of crop and catalog vectors (ml.visual.projection): "packaged"
    # (ml/models/projection.npz, trained by `python -m ml.seed.projection`), "none", or an .npz path
    projection: str = "none"
    # the crop network's graph (ml.visual.quantize): "fp32" (float), or "int8" (quantized: ~1.24x
    # faster end to end on CPU; opt-in until fusion is refitted on int8 features, see the README)
    image_precision: str = "fp32"

    def __post_init__(self):
        self.modalities = tuple(self.modalities)
        unknown = set(self.modalities) - set(ALL_MODALITIES)
        if unknown or not self.modalities:
            raise ValueError(f"modalities must be a non-empty subset of {ALL_MODALITIES}, got {self.modalities}")
        from .fusion import VISUAL_FEATURES

        self.extra_visual = tuple(self.extra_visual)
        for mode in (self.visual_mode, *self.extra_visual):
            if mode not in VISUAL_FEATURES:
                raise ValueError(f"visual_mode must be one of {', '.join(VISUAL_FEATURES)}, got {mode!r}")
        if self.fps <= 0 or self.step_s <= 0:
            raise ValueError("fps and step_s must be positive")
        if self.projection not in ("packaged", "none") and not (
                str(self.projection).endswith(".npz") and os.path.isfile(self.projection)):
            raise ValueError(f"projection must be 'packaged', 'none' or an existing .npz file, got {self.projection!r}")
        if self.image_precision not in ("int8", "fp32"):
            raise ValueError(f"image_precision must be 'int8' or 'fp32', got {self.image_precision!r}")

    def to_dict(self) -> dict:
        """The options as JSON (stored on every result)."""
        d = asdict(self)
        d["modalities"], d["extra_visual"] = list(self.modalities), list(self.extra_visual)
        return d

    def visual_options(self):
        """The visual stage's options for this run (``ml.visual.analyzer.VisualOptions``)."""
        from .visual.analyzer import VisualOptions
        from .visual.embedder import EmbedderOptions

        return VisualOptions(fps=self.fps, keep_embeddings=bool(self.seed_modes), projection=self.projection,
                             embedder=EmbedderOptions(threads=self.threads, precision=self.image_precision))

    def text_encoder(self):
        """The sentence encoder this run uses (its model is loaded once per process and threads)."""
        from .text.encoder import TextEncoder, TextEncoderOptions

        return TextEncoder(TextEncoderOptions(threads=self.threads))

    @property
    def seed_modes(self) -> tuple[str, ...]:
        """The seed models (ml.seed) this run needs: "asymnet", "lxmert"."""
        if "visual" not in self.modalities:
            return ()
        return tuple(m for m in ("asymnet", "lxmert") if m in (self.visual_mode, *self.extra_visual))


class _Clock:
    """Accumulates wall time per stage."""

    def __init__(self):
        self.timings: dict[str, float] = {}

    def add(self, stage: str, seconds: float) -> None:
        self.timings[stage] = self.timings.get(stage, 0.0) + seconds

    def measure(self, stage: str):
        clock = self

        class _Ctx:
            def __enter__(self):
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                clock.add(stage, time.perf_counter() - self.t0)

        return _Ctx()


SPEECH_CHUNK_S = 300.0  # audio is decoded and transcribed this much at a time: memory stays flat
SPEECH_QUIET_S = 20.0  # each chunk ends at the quietest 100 ms of its last this many seconds


def _run_speech(video: str, options: PipelineOptions, start_s: float, end_s: float | None,
                titles: list[str]) -> tuple[Transcript, dict]:
    """Transcribe [start_s, end_s) of the video's audio, SPEECH_CHUNK_S at a time (decoded by
    chunks too, seeking to ``start_s``), so a 5-hour stream holds five minutes of audio, not five
    hours. Whole, a 60-minute track peaked at 1.9 GB in this stage alone (the samples, the VAD's
    copy and whisper's features of all of it); by 600 s chunks 0.76 GB, by 300 s 0.67 GB. Chunks
    are cut in a pause, and whisper reads each in 30 s windows anyway, so a chunk boundary costs
    little more than a window boundary (60-minute test stream: 3062 words whole, 3024 by 300 s)."""
    from .decode import iter_audio_chunks
    from .speech.asr import SpeechOptions, catalog_prompt, make_transcriber

    timings = {"audio_decode": 0.0, "asr": 0.0}
    transcriber = None
    parts = []
    t0 = time.perf_counter()
    for offset, audio in iter_audio_chunks(video, SPEECH_CHUNK_S, start_s=start_s, end_s=end_s,
                                           quiet_s=SPEECH_QUIET_S):
        t1 = time.perf_counter()
        timings["audio_decode"] += t1 - t0
        if transcriber is None:
            transcriber = make_transcriber(SpeechOptions(
                backend=options.asr_backend, checkpoint=options.asr_checkpoint, device=options.device,
                cpu_threads=options.threads,
                # titles in the prompt: product-name word accuracy 0.40 -> 0.63 on espeak speech
                # (ml/speech/bench.py)
                initial_prompt=catalog_prompt(titles)))
        parts.append(transcriber.transcribe(audio, offset_s=offset))
        del audio
        t0 = time.perf_counter()
        timings["asr"] += t0 - t1
    timings["audio_decode"] += time.perf_counter() - t0
    if not parts:
        return Transcript.empty(), timings
    options_used = {**parts[0].options, "offset_s": float(start_s), "chunks": len(parts)}
    words = [w for p in parts for w in p.words]
    language = next((p.language for p in parts if p.language), "")
    return Transcript(words, language, sum(p.duration_s for p in parts), options_used), timings


def _timed(items, clock: _Clock, stage: str):
    """``items``, the time spent producing each added to ``clock[stage]``."""
    while True:
        t0 = time.perf_counter()
        item = next(items, None)
        clock.add(stage, time.perf_counter() - t0)
        if item is None:
            return
        yield item


def _per_step(frame_times: np.ndarray, scores: np.ndarray, times: np.ndarray, step: float) -> np.ndarray:
    """(F,P) per-frame scores -> (T,P): max over frames within each step, nearest frame if none."""
    T, P = len(times), scores.shape[1] if scores.ndim == 2 else 0
    out = np.zeros((T, P), dtype=np.float32)
    if not len(frame_times) or not P:
        return out
    bins = np.clip(np.floor((frame_times - (times[0] - step / 2)) / step).astype(int), 0, T - 1)
    out[:] = -np.inf
    np.maximum.at(out, bins, scores)
    empty = ~np.isfinite(out[:, 0])
    if empty.any():
        nearest = np.abs(frame_times[None, :] - times[empty][:, None]).argmin(axis=1)
        out[empty] = scores[nearest]
    return out


def compute_features(video: str, catalog: Catalog, comments: TextEvents | None, options: PipelineOptions,
                     duration_s: float, has_audio: bool, progress: Progress, clock: _Clock,
                     start_s: float = 0.0, end_s: float | None = None,
                     memory=None) -> tuple[Features, Evidence]:
    """Run the perception stages on [start_s, end_s or duration_s) of the video.

    ``memory``: the shop's ``ml.adapt.ShopMemory``; its views change the visual index.

    -> (Features, Evidence). Time steps are aligned to multiples of ``step_s`` from 0
    (``Features.grid``), so segments processed one after another (``ml.streaming``) concatenate.
    """
    from .decode import iter_frames, prefetch

    mods = set(options.modalities)
    step = options.step_s
    stop = duration_s if end_s is None else end_s
    times = Features.grid(start_s, stop, step)
    span = max(stop - start_s, 1e-6)
    base: dict[FeatureKey, np.ndarray] = {}
    cuts = np.zeros(0)
    evidence = Evidence()

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="speech")
    speech_future = None
    if "speech" in mods and has_audio:
        speech_future = pool.submit(_run_speech, video, options, start_s, end_s,
                                    [p.title for p in catalog.products])
    try:
        analyzer = reader = None
        if "visual" in mods:
            from .visual.analyzer import VisualAnalyzer

            with clock.measure("catalog_embed"):
                analyzer = VisualAnalyzer(catalog, options.visual_options(), memory=memory)
        if "screen_text" in mods:
            from .screentext import ScreenTextReader

            reader = ScreenTextReader()
        if analyzer or reader:
            # decoded in a thread a few frames ahead (``prefetch``): "decode" is that thread's
            # time, "decode_wait" what vision waited for frames
            frames = prefetch(_timed(iter_frames(video, fps=options.fps, start_s=start_s,
                                                 end_s=end_s, max_side=options.max_side), clock, "decode"))
            try:
                while True:
                    t0 = time.perf_counter()
                    frame = next(frames, None)
                    clock.add("decode_wait", time.perf_counter() - t0)
                    if frame is None:
                        break
                    if analyzer:
                        with clock.measure("visual"):
                            analyzer.update(frame)
                    if reader:
                        with clock.measure("screen_text"):
                            reader.update(frame)
                    progress("vision", 0.05 + 0.75 * min(1.0, (frame.t - start_s) / span))
            finally:
                frames.close()  # a cancelled run (progress raised) stops its decoder thread now
        if analyzer:
            with clock.measure("visual"):
                ev = analyzer.finish()
            # Both visual features come from the same pass; the fusion model picks one by
            # ``visual_mode`` (``select_features``), and training sees both.
            base[FeatureKey.VISUAL] = _per_step(ev.frame_times, ev.tracklet_scores, times, step)
            base[FeatureKey.VISUAL_IMG] = _per_step(ev.frame_times, ev.image_scores, times, step)
            evidence.boxes, evidence.shots = ev.boxes, ev.shots
            cuts = shot_cuts(ev.shots.starts, ev.frame_times)
            evidence.tracklets = [TrackletInfo(int(t.track_id), t.start_s, t.end_s, t.category, t.parent_category)
                                  for t in ev.tracklets]
        evidence.screen_text = reader.finish() if reader else None

        transcript = Transcript.empty()
        if speech_future is not None:
            progress("speech", 0.82)
            t0 = time.perf_counter()
            transcript, speech_timings = speech_future.result()
            clock.add("speech_wait", time.perf_counter() - t0)
            for k, v in speech_timings.items():
                clock.add(k, v)
        evidence.transcript = transcript
    finally:
        pool.shutdown(wait=False, cancel_futures=True)

    progress("text", 0.88)
    text_sources: dict[str, TextEvents] = {}
    if mods & {"speech", "screen_text", "comments"}:
        from .text.matching import TextMatcher, TextMatchOptions, transcript_events

        with clock.measure("text"):
            mopts = TextMatchOptions(window_s=options.text_window_s)
            matcher = TextMatcher(catalog, options.text_encoder(), mopts).fit()
            sources = {}
            if "speech" in mods:
                sources["speech"] = transcript_events(transcript, options.text_window_s, options.text_window_s / 2)
            if "screen_text" in mods:
                sources["screen"] = evidence.screen_text if evidence.screen_text is not None \
                    else TextEvents.empty("screen_text")
            if "comments" in mods:
                sources["comments"] = comments if comments is not None else TextEvents.empty("comments")
            for name, events in sources.items():
                for score, values in matcher.score(events, times, options.text_window_s).items():
                    base[FeatureKey.text(name, score)] = values
            text_sources = sources
    if analyzer and options.seed_modes:
        from .seed.tracklets import SeedOptions, seed_scores

        progress("seed", 0.9)
        with clock.measure("seed_models"):
            if "speech" in text_sources:  # sentence-sized chunks for LXMERT's language stream
                from .text.matching import transcript_events

                text_sources = {**text_sources, "speech": transcript_events(transcript, 4.0, 4.0)}
            per_frame = seed_scores(ev, options.seed_modes, text_sources,
                                    SeedOptions(window_s=analyzer.options.track_window_s),
                                    titles=[p.title for p in catalog.products])
        for mode, scores in per_frame.items():
            base[FeatureKey.visual(mode)] = _per_step(ev.frame_times, scores, times, step)
    return Features(times, step, catalog.ids, base, cuts), evidence


def shot_cuts(starts: np.ndarray, frame_times: np.ndarray) -> np.ndarray:
    """Shot changes as times: each shot start after the first, placed half-way between the
    sampled frame that starts it and the one before (the change happened between them)."""
    starts = np.asarray(starts, np.float64)[1:]
    frame_times = np.asarray(frame_times, np.float64)
    if not len(starts) or len(frame_times) < 2:
        return np.zeros(0)
    k = np.clip(np.searchsorted(frame_times, starts - 1e-6), 1, len(frame_times) - 1)
    return 0.5 * (frame_times[k - 1] + frame_times[k])


def _limit_threads(n: int) -> None:
    """FAISS' OpenMP pool fights ONNX Runtime and CTranslate2 for the cores: a tiny flat search
    took 62 ms with 2 threads under load vs 9 ms with 1. Searches are small, so one thread.

    Torch gets ``n`` threads when it is loaded (the seed models, torch backends); a default run
    never imports it (the image and text networks run on ONNX Runtime, fusion is numpy), so it
    is not imported here just to be told how many threads to use: ``torch_threads`` is
    called where torch comes in."""
    import sys

    import faiss

    global _THREADS
    _THREADS = max(1, n)
    faiss.omp_set_num_threads(1)
    if "torch" in sys.modules:
        torch_threads()


_THREADS = 0


def torch_threads() -> None:
    """Give torch the thread count of the last ``_limit_threads`` (imports torch)."""
    import torch

    if _THREADS:
        torch.set_num_threads(_THREADS)


def localize(video: str, catalog, comments: str | None = None,
             options: PipelineOptions | None = None, progress: Progress | None = None,
             features_out: str | None = None, memory=None) -> LocalizationResult:
    """Run every stage; ``catalog`` is a folder path or an ``ml.types.Catalog``.

    ``features_out``: also save the features as .npz (``Features.save``, what ``ml train`` reads).
    ``memory``: what the shop learned from its reviewers (``ml.adapt.ShopMemory``): extra and
    negative views in the visual index, and its refitted interval scorer when it has one. It is
    a keyword argument, not an option: options are stored as JSON on every result. None: the
    packaged behaviour exactly.
    """
    from .decode import probe
    from .scoring import Scorer
    from .warm import load_seconds

    options = options or PipelineOptions()
    progress = progress or (lambda stage, fraction: None)
    _limit_threads(options.threads)
    clock = _Clock()
    t_start = time.perf_counter()
    loaded_before = load_seconds()
    progress("probe", 0.0)
    with clock.measure("probe"):
        info = probe(video)
        if not isinstance(catalog, Catalog):
            catalog = load_catalog(catalog)
        events = load_comments(comments, info.duration_s) if comments else None
    scorer = Scorer.load(options, memory)  # fails before the expensive stages when no model is trained
    if options.seed_modes:
        from .seed.tracklets import preload

        preload(options.seed_modes)
        torch_threads()

    features, evidence = compute_features(video, catalog, events, options, info.duration_s,
                                          info.has_audio, progress, clock, memory=memory)
    if features_out:
        features.save(features_out)
    progress("fusion", 0.95)
    with clock.measure("fusion"):
        curves = scorer.curves(features)
        decision = scorer.decide(curves)
    clock.add("model_load", load_seconds() - loaded_before)  # 0 in a warm worker
    clock.add("total", time.perf_counter() - t_start)
    progress("done", 1.0)
    return LocalizationResult(video=str(video), duration_s=info.duration_s, intervals=decision.intervals,
                              timings_s=clock.timings, options=options.to_dict(), curves=curves,
                              evidence=evidence, threshold=decision.threshold, candidates=decision.candidates)


def save_curves(curves: ScoreCurves, path: str) -> None:
    """The curves file the evaluator reads: times, product_ids, fused, background (P(nothing),
    when the scorer has it), m_<modality>, step_s, cuts."""
    extra = {"background": curves.background} if curves.background is not None else {}
    extra["cuts"] = curves.cuts
    np.savez_compressed(path, times=curves.times, product_ids=np.asarray(curves.product_ids),
                        fused=curves.fused, step_s=np.float64(curves.step_s), **extra,
                        **{f"m_{k}": v for k, v in curves.modalities.items()})


def load_score_curves(path: str) -> ScoreCurves:
    """A ``save_curves`` file back as ``ScoreCurves`` (what ``ml.adapt.refit`` reads; files
    written before step_s was stored get the median step of their times)."""
    with np.load(path, allow_pickle=False) as z:
        times = z["times"]
        if "step_s" in z.files:
            step = float(z["step_s"])
        else:
            step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
        return ScoreCurves(times, step, [str(p) for p in z["product_ids"]],
                           {k[2:]: z[k] for k in z.files if k.startswith("m_")}, z["fused"],
                           z["background"] if "background" in z.files else None,
                           z["cuts"] if "cuts" in z.files else np.zeros(0))


__all__ = ["PipelineOptions", "localize", "save_curves", "load_score_curves", "compute_features"]
