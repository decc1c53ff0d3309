"""Speech stage: audio -> ``Transcript`` (timed words). See ``ml.speech.asr``."""

from .asr import (FasterWhisperTranscriber, OpenAIWhisperTranscriber, SpeechOptions, Transcriber,
                  catalog_prompt, make_transcriber, transcript_from_openai_whisper)

__all__ = ["SpeechOptions", "Transcriber", "FasterWhisperTranscriber", "OpenAIWhisperTranscriber",
           "make_transcriber", "catalog_prompt", "transcript_from_openai_whisper"]
