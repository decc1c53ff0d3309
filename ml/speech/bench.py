"""Benchmark the speech stage on ~60 s of espeak-ng speech naming grocery products.

    python -m ml.speech.bench [--seconds 60] [--out bench.json]

Synthesises sentences with espeak-ng (must be on PATH), then for beam 1 and 5, with and without
a catalog prompt (``catalog_prompt``), reports the real-time factor (audio s / wall s, after a
warm-up; ``cpu_s`` is the process CPU time, a load-independent cost) and the product-name word accuracy: the fraction of product-title words said in the
audio that appear (case/punctuation-insensitive) in the transcript of the same sentence.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import time

import numpy as np

from .asr import SAMPLE_RATE, SpeechOptions, catalog_prompt, make_transcriber

PRODUCTS = ["Tropicana Apple Juice", "Arla Medium Fat Milk", "Golden Delicious", "Oatly Oat Milk",
            "Alpro Blueberry Soyghurt", "Granny Smith", "Yoggi Vanilla Yoghurt", "Galia Melon",
            "God Morgon Orange Juice", "Royal Gala", "Honeydew Melon", "Garant Ecological Standard Milk",
            "Nike Mean Team India Cricket Jersey", "Puma Deck Navy Blue Backpack", "Brown Cap Mushroom",
            "Red Delicious", "Passion Fruit", "Vine Tomato"]
TEMPLATES = ["Now let me show you the {p}, it is one of our best sellers.",
             "Here we have the {p}, really good value today.",
             "This one is the {p}. Take a look at it.",
             "Next up, {p}, and it is on offer this week."]


def _norm(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def synthesise(seconds: float, folder: str) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """Concatenate espeak-ng sentences (+0.6 s pauses) until ``seconds``: audio and (start, end, product)."""
    from faster_whisper import decode_audio

    chunks, spans, t, i = [], [], 0.0, 0
    pause = np.zeros(int(0.6 * SAMPLE_RATE), np.float32)
    while t < seconds:
        p = PRODUCTS[i % len(PRODUCTS)]
        wav = os.path.join(folder, f"s{i}.wav")
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", wav,
                        TEMPLATES[i % len(TEMPLATES)].format(p=p)], check=True)
        a = decode_audio(wav, sampling_rate=SAMPLE_RATE)
        spans.append((t, t + len(a) / SAMPLE_RATE, p))
        chunks += [a, pause]
        t += (len(a) + len(pause)) / SAMPLE_RATE
        i += 1
    return np.concatenate(chunks), spans


def name_accuracy(transcript, spans) -> float:
    hit = total = 0
    for start, end, product in spans:
        said = set(_norm(" ".join(w.text for w in transcript.between(start - 0.3, end + 0.3))))
        for tok in _norm(product):
            total += 1
            hit += tok in said
    return hit / max(total, 1)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--out", default="")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        audio, spans = synthesise(args.seconds, tmp)
    duration = len(audio) / SAMPLE_RATE
    prompt = catalog_prompt(PRODUCTS)
    results = {"audio_s": round(duration, 1), "runs": []}
    make_transcriber(SpeechOptions()).transcribe(audio[:SAMPLE_RATE * 5])  # load + warm up
    for beam in (1, 5):
        for use_prompt in (False, True):
            tr = make_transcriber(SpeechOptions(beam_size=beam, initial_prompt=prompt if use_prompt else ""))
            t0, c0 = time.perf_counter(), time.process_time()
            transcript = tr.transcribe(audio)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            run = {"beam": beam, "prompt": use_prompt, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                   "rtf": round(duration / wall, 1), "name_word_acc": round(name_accuracy(transcript, spans), 3),
                   "words": len(transcript.words)}
            results["runs"].append(run)
            print(json.dumps(run), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == "__main__":
    main()
