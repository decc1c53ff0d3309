"""Speech stage: real Whisper tiny.en on espeak-ng speech; openai-whisper plumbing on a random
checkpoint written by the test (junk text, real code path)."""

import os
import re

import numpy as np
import pytest

from ml.speech import (SpeechOptions, Transcriber, catalog_prompt, make_transcriber,
                       transcript_from_openai_whisper)
from ml.types import Transcript

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "data", "speech")
SR = 16_000


def _audio(name):
    from faster_whisper import decode_audio

    return decode_audio(os.path.join(DATA, name), sampling_rate=SR)


def _norm(words):
    return [re.sub(r"[^a-z0-9]", "", w.text.lower()) for w in words]


@pytest.fixture(scope="module")
def whisper_cpu():
    return make_transcriber(SpeechOptions())


def test_it_transcribes_a_product_sentence_with_plausible_word_times(whisper_cpu):
    audio = _audio("tropicana.ogg")  # "This is the Tropicana apple juice, one litre." (3.3 s)
    t = whisper_cpu.transcribe(audio)
    assert isinstance(t, Transcript) and isinstance(whisper_cpu, Transcriber)
    words = _norm(t.words)
    assert {"apple", "juice"} <= set(words)
    assert any(w.startswith("tropic") for w in words)  # "tropical" without a catalog prompt
    starts = [w.start for w in t.words]
    assert starts == sorted(starts)
    assert all(0.0 <= w.start <= w.end <= len(audio) / SR + 0.01 for w in t.words)
    apple = t.words[words.index("apple")]
    assert 0.5 < apple.start < 2.0  # said about 1.1 s in
    assert t.options["backend"] == "faster-whisper" and t.options["beam_size"] == 1


def test_a_catalog_prompt_makes_whisper_spell_the_brand(whisper_cpu):
    prompt = catalog_prompt(["Tropicana Apple Juice", "Oatly Oat Milk", "Arla Medium Fat Milk"])
    assert prompt == "Tropicana Apple Juice, Oatly Oat Milk, Arla Medium Fat Milk."
    t = make_transcriber(SpeechOptions(initial_prompt=prompt)).transcribe(_audio("tropicana.ogg"))
    assert "tropicana" in _norm(t.words)


def test_offset_shifts_every_word_to_absolute_time(whisper_cpu):
    audio = _audio("tropicana.ogg")
    a = whisper_cpu.transcribe(audio)
    b = whisper_cpu.transcribe(audio, offset_s=120.0)
    assert [w.text for w in a.words] == [w.text for w in b.words]
    np.testing.assert_allclose([w.start + 120.0 for w in a.words], [w.start for w in b.words], atol=1e-6)
    assert b.options["offset_s"] == 120.0


def test_silence_gives_an_empty_transcript(whisper_cpu):
    t = whisper_cpu.transcribe(np.zeros(5 * SR, dtype=np.float32))
    assert t.words == [] and t.text == ""
    assert t.duration_s == pytest.approx(5.0)


def test_empty_audio_gives_an_empty_transcript(whisper_cpu):
    assert whisper_cpu.transcribe(np.zeros(0, dtype=np.float32)).words == []


def test_stereo_audio_is_refused_with_a_clear_message(whisper_cpu):
    with pytest.raises(ValueError, match="mono"):
        whisper_cpu.transcribe(np.zeros((2, SR), dtype=np.float32))


def test_openai_backend_without_checkpoint_is_refused():
    with pytest.raises(ValueError, match="checkpoint"):
        make_transcriber(SpeechOptions(backend="openai-whisper"))


def test_openai_backend_with_missing_checkpoint_file_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        make_transcriber(SpeechOptions(backend="openai-whisper", checkpoint=str(tmp_path / "no.pt")))


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="backend"):
        SpeechOptions(backend="kaldi")


@pytest.fixture(scope="module")
def random_checkpoint(tmp_path_factory):
    """A randomly initialised Whisper (English vocabulary, tiny-like but narrower) saved the
    way ``whisper.load_model`` reads checkpoints."""
    torch = pytest.importorskip("torch")
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(0)
    dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=2,
                           n_vocab=51864, n_text_ctx=448, n_text_state=64, n_text_head=2, n_text_layer=2)
    path = tmp_path_factory.mktemp("whisper") / "random.pt"
    torch.save({"dims": dims.__dict__, "model_state_dict": Whisper(dims).state_dict()}, path)
    return str(path)


def test_openai_backend_runs_a_local_checkpoint_and_returns_a_transcript(random_checkpoint):
    # vad=True also runs the Silero VAD span splitting borrowed from faster-whisper
    options = SpeechOptions(backend="openai-whisper", checkpoint=random_checkpoint, vad=True, temperatures=(0.0,))
    tr = make_transcriber(options)
    audio = _audio("tropicana.ogg")
    t = tr.transcribe(audio, offset_s=5.0)
    assert isinstance(t, Transcript) and t.options["backend"] == "openai-whisper"
    starts = [w.start for w in t.words]
    assert starts == sorted(starts)
    assert all(5.0 <= w.start <= w.end <= 5.0 + len(audio) / SR + 1e-6 for w in t.words)
    assert all(isinstance(w.text, str) and w.text for w in t.words)


def test_openai_result_adapter_keeps_words_and_shifts_them():
    result = {"language": "en", "segments": [
        {"start": 0.0, "end": 2.0, "text": " Oatly oat milk", "words": [
            {"word": " Oatly", "start": 0.1, "end": 0.5, "probability": 0.9},
            {"word": " oat", "start": 0.5, "end": 0.8, "probability": 0.8},
            {"word": " milk", "start": 0.8, "end": 1.2, "probability": 0.95}]},
        {"start": 2.0, "end": 3.0, "text": " no words here", "avg_logprob": -0.1}]}
    t = transcript_from_openai_whisper(result, offset_s=10.0, duration_s=3.0)
    assert [w.text for w in t.words] == ["Oatly", "oat", "milk", "no words here"]
    assert t.words[0].start == pytest.approx(10.1) and t.words[-1].end == pytest.approx(13.0)
    assert t.language == "en"


def test_the_pipeline_transcribes_long_audio_chunk_by_chunk_cutting_in_pauses(tmp_path, monkeypatch):
    """Memory stays flat because audio is decoded and transcribed a chunk at a time: here 4 s
    chunks over 'tropicana' + 3 s of silence + 'tropicana' again. The cut falls in the
    silence, both sentences come out whole and the second one at its absolute time."""
    import subprocess

    from ml import pipeline

    src = os.path.join(DATA, "tropicana.ogg")
    path = str(tmp_path / "two.wav")
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", src, "-f", "lavfi", "-t", "3",
                    "-i", "anullsrc=r=16000:cl=mono", "-i", src, "-filter_complex",
                    "[0:a]aresample=16000[a];[2:a]aresample=16000[c];[a][1:a][c]concat=n=3:v=0:a=1",
                    "-ac", "1", "-ar", "16000", path], check=True)
    monkeypatch.setattr(pipeline, "SPEECH_CHUNK_S", 5.0)
    monkeypatch.setattr(pipeline, "SPEECH_QUIET_S", 2.5)
    t, timings = pipeline._run_speech(path, pipeline.PipelineOptions(), 0.0, None, ["Tropicana Apple Juice"])
    assert t.options["chunks"] >= 2
    words = _norm(t.words)
    assert words.count("apple") == 2 and words.count("juice") == 2
    apples = [w.start for w, n in zip(t.words, words) if n == "apple"]
    assert 0.5 < apples[0] < 2.0
    # the second sentence starts 3.3 s (first) + 3 s (silence) in: its 'apple' about 1.1 s later
    assert 6.8 < apples[1] < 8.8
    assert [w.start for w in t.words] == sorted(w.start for w in t.words)
    assert timings["asr"] > 0 and "audio_decode" in timings
