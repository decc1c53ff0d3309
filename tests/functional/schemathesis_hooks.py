"""Schemathesis hooks for tests/functional/test_api_fuzzing.py (loaded by the CLI through
SCHEMATHESIS_HOOKS): most generated path ids are mapped onto objects that exist, so the run
reaches the code behind the 404 (the rest stay random and must answer 404)."""

import json
import os

import schemathesis

# {"/api/videos/": [ids], ..., "delete /api/intervals/": [ids only DELETE may use up]}
KNOWN = json.loads(os.environ.get("SHOPFOCUS_FUZZ_IDS", "{}"))


@schemathesis.hook
def map_path_parameters(context, path_parameters):
    if not isinstance(path_parameters, dict):
        return path_parameters
    op = context.operation
    key = "delete " + op.path if op.method.lower() == "delete" else op.path
    ids = next((v for prefix, v in KNOWN.items() if key.startswith(prefix)), None)
    value = path_parameters.get("id")
    if ids and isinstance(value, int) and value % 4:  # 3 in 4: a real object (deterministic, so it shrinks)
        path_parameters["id"] = ids[value % len(ids)]
    return path_parameters


@schemathesis.deserializer("text/csv", "text/vtt")
def as_text(ctx, response):
    """The exports' CSV and WebVTT are validated as the strings the schema says they are."""
    return response.content.decode("utf-8")


@schemathesis.serializer("application/offset+octet-stream")
def tus_bytes(ctx, value):
    """A tus PATCH body: raw bytes (strings as UTF-8)."""
    data = value if isinstance(value, bytes) else str(value).encode("utf-8")
    return {"data": data}
