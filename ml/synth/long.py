"""Render a long stream (``longplan.plan_long_episode``) with bounded memory.

    paths = generate_long_episode("out/long0", seed=0, split="test", difficulty="medium",
                                  duration_s=3600, catalog_size=160)

Same files as a short episode (catalog/, video.mp4, comments.csv, truth.json, episode.json).
Memory stays flat whatever the length: frames are drawn one at a time and piped to ffmpeg
(as for short episodes), and the narration is mixed and written to the WAV file a minute at a
time (each spoken line is synthesised once and kept as 16-bit samples; the background sound of
each minute is drawn from its own seed and cross-faded into the previous one). episode.json
adds ``long`` (the settings, the exhibited products, their look-alikes, the padding products
and the measured share of time with no catalog product shown) and the generator's own peak RSS.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
import wave

import numpy as np

from . import audio, render
from .episode import _encode, _frames, _Media, _seed_int, segments_meta, write_meta, write_texts
from .longplan import LONG_VERSION, LongSettings, plan_long_episode
from .script import DIFFICULTIES, LEVELS, Plan
from .sources import SPLITS, Sources, load_sources, product_id_of

PAD_SPLIT = {"val": "train"}  # the validation split has ~60 products: padded with training ones
CHUNK_S = 60.0
FADE_S = 0.05


def _say16(text: str, voice: dict) -> np.ndarray:
    return np.round(audio.say(text, **voice) * 32768.0).astype(np.int16)


def narrate_to_wav(plan: Plan, duration_s: float, snr_db: float, base: int, path: str,
                   chunk_s: float = CHUNK_S) -> list[dict]:
    """Place the narration as ``episode._narration`` does, mix it over background sound at
    ``snr_db`` and write it to ``path`` chunk by chunk. Returns the lines actually spoken."""
    sr = audio.SAMPLE_RATE
    n = int(round(duration_s * sr))
    cache: dict[str, np.ndarray] = {}
    placed: list[tuple[int, str]] = []
    done: list[dict] = []
    free_at = 0.0
    for line in plan.lines:
        if line.text not in cache:
            cache[line.text] = _say16(line.text, plan.voice)
        x = cache[line.text]
        start = max(line.start_s, free_at + 0.3)
        if start - line.start_s > 4.0 and line.kind in ("filler", "offtopic"):
            continue
        end = start + len(x) / sr
        if end > duration_s - 0.2:
            continue
        placed.append((int(start * sr), line.text))
        free_at = end
        done.append({"start_s": round(start, 2), "end_s": round(end, 2), "text": line.text,
                     "kind": line.kind, "product_id": line.product_id})
    # speech level over voiced samples (lines never overlap), as audio.mix measures it
    sq = cnt = 0.0
    peak = 0.0
    for _, text in placed:
        x = cache[text].astype(np.float32) / 32768.0
        v = np.abs(x) > 0.02
        sq += float(np.sum(x[v] ** 2))
        cnt += float(v.sum())
        peak = max(peak, float(np.max(np.abs(x))) if len(x) else 0.0)
    s_rms = float(np.sqrt(sq / cnt)) if cnt else 0.1
    noise_gain = s_rms * 10 ** (-snr_db / 20)
    gain = min(1.0, 0.95 / max(peak + 4.0 * noise_gain, 1e-6))
    rng = np.random.default_rng([base, 2])
    music = bool(rng.random() < 0.7)
    step = int(round(chunk_s * sr))
    fade = int(round(FADE_S * sr))
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
    tail = None
    k = 0
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        for ci, c0 in enumerate(range(0, n, step)):
            c1 = min(n, c0 + step)
            noise = audio.background_sound(np.random.default_rng([base, 2, ci]), c1 - c0 + fade, music=music)
            if tail is not None:  # cross-fade the previous chunk's extra samples in
                noise[:fade] = tail * (1 - ramp) + noise[:fade] * ramp
            tail = noise[c1 - c0:].copy()
            buf = noise[:c1 - c0] * noise_gain
            while k < len(placed) and placed[k][0] < c0 - 60 * sr:
                k += 1
            j = k
            while j < len(placed) and placed[j][0] < c1:
                i0, text = placed[j]
                x = cache[text].astype(np.float32) / 32768.0
                a, b = max(i0, c0), min(i0 + len(x), c1)
                if b > a:
                    buf[a - c0:b - c0] += x[a - i0:b - i0]
                j += 1
            w.writeframes((np.clip(buf * gain, -1, 1) * 32767).astype(np.int16).tobytes())
    return done


def generate_long_episode(out_dir: str, seed: int, split: str = "test", difficulty: str = "medium",
                          duration_s: float = 3600.0, size: tuple[int, int] = (1280, 720), catalog_size: int = 160,
                          *, data_root: str | None = None, sources: Sources | None = None, fps: int = 25,
                          render_fps: float = 10.0, preset: str = "veryfast",
                          settings: LongSettings | None = None) -> dict:
    """Write one long stream into ``out_dir`` and return its paths (as ``generate_episode``).
    Deterministic in (seed, split, difficulty, duration_s, size, catalog_size, LONG_VERSION)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {DIFFICULTIES}, got {difficulty!r}")
    if duration_s < 60:
        raise ValueError("a long stream lasts at least 60 seconds")
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg is not installed: it encodes the benchmark videos")
    t_start = time.time()
    sources = sources or load_sources(data_root)
    w, h = int(size[0]) // 2 * 2, int(size[1]) // 2 * 2
    st = settings or LongSettings(catalog_size=int(catalog_size), pad_split=PAD_SPLIT.get(split, ""))
    base = _seed_int("long", LONG_VERSION, seed, split, difficulty, duration_s, w, h, st.catalog_size)
    lv = LEVELS[difficulty]
    plan = plan_long_episode(sources, np.random.default_rng(base), split, difficulty, float(duration_s),
                             render_fps, st)
    id_map = write_texts(plan, out_dir, base)
    media = _Media(sources, plan, split, w, h)
    frames = _frames(plan, base, media, split, lv, int(round(duration_s * render_fps)), render_fps)
    video = os.path.join(out_dir, "video.mp4")
    with tempfile.TemporaryDirectory() as tmp:
        wav_path = os.path.join(tmp, "audio.wav")
        t_a = time.time()
        spoken = narrate_to_wav(plan, float(duration_s), lv.snr_db, base, wav_path)
        audio_s = time.time() - t_a
        _encode(video, wav_path, frames, (w, h), render_fps, fps, preset)
    render.load_bgr.cache_clear()
    shown = np.zeros(int(round(duration_s * render_fps)), bool)
    for iv in plan.truth:
        shown[int(round(iv["start_s"] * render_fps)):int(round(iv["end_s"] * render_fps))] = True
    ru_self, ru_kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    pid = product_id_of
    meta = {"synth_version": f"long{LONG_VERSION}", "seed": seed, "split": split, "difficulty": difficulty,
            "domain": "mixed", "duration_s": float(duration_s), "size": [w, h], "fps": fps,
            "render_fps": render_fps, "data_root": sources.root, "catalog_size": len(plan.catalog),
            "products": id_map, "speech": spoken, "voice": plan.voice, "segments": segments_meta(plan),
            "long": {"settings": st.__dict__, "idle_share": round(1.0 - float(shown.mean()), 4),
                     "exhibited": [pid(i) for i in plan.notes["exhibited"]],
                     "lookalikes": {pid(k): [pid(v) for v in vs] for k, vs in plan.notes["lookalikes"].items()},
                     "padded_from": plan.notes["padded_from"], "padded": [pid(i) for i in plan.notes["padded"]]},
            "generation_s": round(time.time() - t_start, 2), "audio_s": round(audio_s, 2),
            "generator_peak_rss_mb": round(ru_self.ru_maxrss / 1024, 1),
            "ffmpeg_peak_rss_mb": round(ru_kids.ru_maxrss / 1024, 1)}
    return write_meta(out_dir, meta)
