"""Warm models: load the pipeline's models once per process, before the first video needs them.

    from ml.warm import preload
    preload(PipelineOptions())          # image embedder session, sentence model, Whisper
    preload_in_background(options)      # the same from a daemon thread (returns the thread)

Every model is already kept per process where it is loaded (``ml.visual.embedder.onnx_session``,
``ml.text.encoder.load_sentence_model``, ``ml.speech.asr``'s model table), so preloading is only
a matter of asking for each one early. A Celery worker does it in ``worker_process_init``
(``webapp.celery``), so even its first job finds the models loaded; the CLI starts it in a
thread at the start of ``localize``, where the sentence model's import and load (~4 s of CPU,
mostly single-threaded Python) then overlaps decoding and vision instead of running after them.

``timed_load(name)`` wraps each actual load and counts it: ``load_stats()`` says what this
process loaded, how often and in how many seconds, and ``ml.pipeline.localize`` reports the
seconds spent loading during a run as ``timings_s["model_load"]`` (0 in a warm worker).
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager

log = logging.getLogger(__name__)

_STATS: dict[str, list] = {}  # name -> [loads, seconds]
_STATS_LOCK = threading.Lock()


@contextmanager
def timed_load(name: str):
    """Count one load of model ``name`` and its wall time (only when the body succeeds)."""
    t0 = time.perf_counter()
    yield
    with _STATS_LOCK:
        entry = _STATS.setdefault(name, [0, 0.0])
        entry[0] += 1
        entry[1] += time.perf_counter() - t0


def load_stats() -> dict[str, tuple[int, float]]:
    """{model name: (times loaded in this process, seconds spent loading)}."""
    with _STATS_LOCK:
        return {k: (int(v[0]), float(v[1])) for k, v in _STATS.items()}


def load_seconds() -> float:
    """Seconds this process has spent loading models so far."""
    with _STATS_LOCK:
        return float(sum(v[1] for v in _STATS.values()))


def _speech_options(options):
    from .speech.asr import SpeechOptions

    # the same settings as ml.pipeline._run_speech, so the model table's key matches
    return SpeechOptions(backend=options.asr_backend, checkpoint=options.asr_checkpoint,
                         device=options.device, cpu_threads=options.threads)


def preload(options=None, image: bool = True, text: bool = True, speech: bool = True) -> dict[str, tuple[int, float]]:
    """Load the models a run with ``options`` (default ``PipelineOptions()``) uses; returns
    ``load_stats()``. A model that cannot be loaded here is logged and left to the run, which
    then fails with its usual message."""
    from .pipeline import PipelineOptions, _limit_threads

    options = options or PipelineOptions()
    _limit_threads(options.threads)
    mods = set(options.modalities)
    steps = []
    if image and "visual" in mods:
        def image_model():
            from .visual.embedder import ImageEmbedder

            ImageEmbedder(options.visual_options().embedder)._load()
        steps.append(("image embedder", image_model))
    if text and mods & {"speech", "screen_text", "comments"}:
        def text_model():
            options.text_encoder().model
        steps.append(("sentence model", text_model))
    if speech and "speech" in mods:
        def speech_model():
            from .speech.asr import make_transcriber

            make_transcriber(_speech_options(options)).model
        steps.append(("speech model", speech_model))
    for what, step in steps:
        try:
            step()
        except Exception:  # noqa: BLE001 - the run reports it properly
            log.exception("preloading the %s failed", what)
    return load_stats()


def preload_in_background(options=None, **kwargs) -> threading.Thread:
    """``preload`` in a daemon thread (started; join it to wait)."""
    thread = threading.Thread(target=preload, args=(options,), kwargs=kwargs, name="preload", daemon=True)
    thread.start()
    return thread


__all__ = ["preload", "preload_in_background", "timed_load", "load_stats", "load_seconds"]
