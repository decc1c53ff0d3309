"""Narration (espeak-ng) and background sound (synthesised music + noise at a set SNR)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave

import numpy as np

SAMPLE_RATE = 22050  # espeak-ng's native rate


class SpeechUnavailable(RuntimeError):
    pass


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def say(text: str, voice: str = "en-us", speed: int = 160, pitch: int = 50) -> np.ndarray:
    """Speak ``text`` with espeak-ng; float32 mono samples at SAMPLE_RATE."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SpeechUnavailable("espeak-ng is not installed (apt-get install espeak-ng): "
                                "the benchmark's narration needs it")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s.wav")
        subprocess.run([exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", path, text],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return read_wav(path)


def read_wav(path: str) -> np.ndarray:
    with wave.open(path, "rb") as w:
        n, ch, sw, sr = w.getnframes(), w.getnchannels(), w.getsampwidth(), w.getframerate()
        raw = w.readframes(n)
    if sw != 2:
        raise ValueError(f"{path}: expected 16-bit PCM")
    x = np.frombuffer(raw, np.int16).astype(np.float32) / 32768.0
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1)
    if sr != SAMPLE_RATE:
        t_new = np.arange(int(len(x) * SAMPLE_RATE / sr)) / SAMPLE_RATE
        x = np.interp(t_new, np.arange(len(x)) / sr, x).astype(np.float32)
    # espeak pads with silence; trim it so the timing we record is the spoken part
    nz = np.nonzero(np.abs(x) > 0.01)[0]
    return x[nz[0]:nz[-1] + 1] if len(nz) else x[:0]


def write_wav(path: str, x: np.ndarray) -> None:
    pcm = (np.clip(x, -1, 1) * 32767).astype(np.int16)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())


def background_sound(rng: np.random.Generator, n: int, music: bool = True) -> np.ndarray:
    """Room noise (filtered white noise) plus, optionally, a slow synth chord progression."""
    white = rng.normal(0, 1, n).astype(np.float32)
    # spectral shaping (1/f^0.8 above 20 Hz): a room rumble, cheap for any length via FFT
    spec = np.fft.rfft(white)
    f = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    spec *= 1.0 / np.maximum(f, 20.0) ** 0.8
    rumble = np.fft.irfft(spec, n).astype(np.float32)
    rumble /= max(float(np.std(rumble)), 1e-6)
    x = 0.6 * rumble + 0.25 * white
    if music:
        t = np.arange(n, dtype=np.float32) / SAMPLE_RATE
        roots = rng.choice([196.0, 220.0, 246.9, 261.6, 293.7], size=max(1, n // (SAMPLE_RATE * 2) + 1))
        chord_idx = (t // 2.0).astype(int)
        root = roots[np.minimum(chord_idx, len(roots) - 1)]
        env = 0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t) ** 2
        tone = sum(np.sin(2 * np.pi * root * r * t) for r in (1.0, 1.25, 1.5)) / 3.0
        beat = (np.sin(2 * np.pi * 2.0 * t) > 0.95).astype(np.float32) * rng.normal(0, 1, n)
        x = x + 1.5 * env * tone + 0.8 * beat
    return (x / max(float(np.std(x)), 1e-6)).astype(np.float32)


def mix(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Scale ``noise`` so speech RMS (over voiced samples) / noise RMS = snr_db, add, normalise."""
    voiced = np.abs(speech) > 0.02
    s_rms = float(np.sqrt(np.mean(speech[voiced] ** 2))) if voiced.any() else 0.1
    n_rms = float(np.sqrt(np.mean(noise ** 2))) or 1.0
    out = speech + noise * (s_rms / n_rms) * 10 ** (-snr_db / 20)
    peak = float(np.max(np.abs(out))) or 1.0
    return (out * min(1.0, 0.95 / peak)).astype(np.float32)
