"""Text side of scoring: MiniLM sentence embeddings and event-to-catalog text matching."""

from .encoder import TextEncoder, TextEncoderOptions
from .matching import TextMatcher, TextMatchOptions, content_tokens, tokenize, transcript_events

__all__ = ["TextEncoder", "TextEncoderOptions", "TextMatcher", "TextMatchOptions", "transcript_events",
           "tokenize", "content_tokens"]
