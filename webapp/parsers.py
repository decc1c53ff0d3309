"""The API's request bodies: a strict JSON parser (DRF's only parser here) and the error a
too-large body gets, so bad bodies get a 4xx a client can act on instead of a 500.

- NaN, Infinity and -Infinity are not JSON (RFC 8259) and are refused.
- Nesting deeper than ``SHOPFOCUS_JSON_MAX_DEPTH`` is refused before decoding: Python's decoder
  recurses once per level, and 100,000 ``[`` would end in RecursionError (a 500).
- A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (DRF reads JSON through ``request.body``, which
  enforces it) answers 413 JSON instead of Django's 400 HTML page."""

from __future__ import annotations

import codecs
import json
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.views import exception_handler as drf_exception_handler

# A JSON string (skipped whole, so brackets inside strings do not count) or one bracket.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a valid JSON number; send a finite number")


def json_depth_exceeds(text: str, max_depth: int) -> bool:
    """True when ``text`` nests arrays/objects deeper than ``max_depth`` (one linear scan)."""
    depth = 0
    for m in _TOKENS.finditer(text):
        tok = m.group()
        if tok in ("[", "{"):
            depth += 1
            if depth > max_depth:
                return True
        elif tok in ("]", "}"):
            depth -= 1
    return False


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})  # text codecs only (no bz2_codec bombs)
        try:
            text = codecs.decode(stream.read(), encoding)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - the body is not {encoding} text ({exc})") from None
        max_depth = settings.SHOPFOCUS_JSON_MAX_DEPTH
        if json_depth_exceeds(text, max_depth):
            raise ParseError(f"JSON parse error - the body nests deeper than {max_depth} levels")
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


def exception_handler(exc, context):
    """DRF's handler, plus 413 JSON for a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge(f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")
    return drf_exception_handler(exc, context)
