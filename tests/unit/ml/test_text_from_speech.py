"""From audio to per-product text scores: Whisper words -> speech windows -> TextMatcher."""

import os

import numpy as np

from ml.speech import SpeechOptions, catalog_prompt, make_transcriber
from ml.text import TextEncoder, TextMatcher, transcript_events
from ml.types import Catalog, Product

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "data")
IMG = os.path.join(DATA, "text", "overlay_oatly.png")
TITLES = {"tropicana": "Tropicana Apple Juice", "oatly": "Oatly Oat Milk", "arla": "Arla Medium Fat Milk",
          "golden": "Golden Delicious", "jersey": "Nike Mean Team India Cricket Jersey"}


def test_each_spoken_product_wins_while_it_is_being_talked_about():
    from faster_whisper import decode_audio

    # espeak-ng: 0-3 s greeting, 7-10 s "This is the Tropicana apple juice, one litre.",
    # 14-17.5 s "And now the Oatly oat milk, great in coffee."; silence between
    audio = decode_audio(os.path.join(DATA, "speech", "show.ogg"), sampling_rate=16_000)
    catalog = Catalog([Product(pid, title, "grocery", (IMG,)) for pid, title in TITLES.items()])
    prompt = catalog_prompt([p.title for p in catalog.products])
    transcript = make_transcriber(SpeechOptions(initial_prompt=prompt)).transcribe(audio, offset_s=60.0)
    events = transcript_events(transcript, window_s=4.0, hop_s=1.0)
    matcher = TextMatcher(catalog, TextEncoder()).fit()
    times = np.arange(60.0, 80.0, 1.0)
    s = matcher.score(events, times, window_s=4.0)
    tropicana, oatly = catalog.index_of("tropicana"), catalog.index_of("oatly")
    for name in ("semantic", "lexical"):
        assert s[name][times == 68.0][0].argmax() == tropicana
        assert s[name][times == 75.0][0].argmax() == oatly
    assert s["lexical"][times == 64.0][0].max() == 0.0  # nobody is talking about products then
