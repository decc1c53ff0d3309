"""The OpenAPI schema, completed with the answers any operation can give besides its own: a
drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]).

- 400 wherever there is input (query parameters or a body): field errors ``{"video": ["..."]}``
  or ``{"detail": "..."}``, as DRF and the services answer;
- 401 (no or a bad token), 403 (not allowed), 429 (throttled, with Retry-After) everywhere;
- 404 wherever the path names an object (also when the id is not an id: the router finds no URL);
- 413 (body over DATA_UPLOAD_MAX_MEMORY_SIZE) and 415 (not JSON) wherever there is a body.
An operation's own documented answer for a code is kept, except that every 400 is the
validation-error shape."""

from __future__ import annotations

ERROR = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
VALIDATION_ERROR = {
    "type": "object",
    "description": "Each field or parameter at fault with its reasons, or one `detail`.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {},
}
TEXT = {
    400: "Invalid input: each field or parameter at fault with its reasons.",
    401: "No credentials, or a wrong, expired or revoked API token (`Authorization: Token <token>`).",
    403: "Signed in, but not allowed to do this in this shop.",
    404: "No such object in your shops.",
    413: "The request body is larger than the server accepts.",
    415: "The body must be JSON (`Content-Type: application/json`).",
    429: "Too many requests: wait the `Retry-After` seconds.",
}
METHODS = ("get", "put", "post", "patch", "delete")


def _json(schema_ref: str) -> dict:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}


def complete_error_responses(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR)
    schemas.setdefault("ValidationError", VALIDATION_ERROR)
    for path, item in result.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = op.get("parameters", []) + item.get("parameters", [])
            has_body = "requestBody" in op
            codes = [401, 403, 429]
            if has_body or any(p.get("in") == "query" for p in params) or "400" in op.get("responses", {}):
                codes.append(400)
            if "{" in path:
                codes.append(404)
            if has_body:
                codes += [413, 415]
            responses = op.setdefault("responses", {})
            for code in sorted(codes):
                if code == 400:
                    responses["400"] = {"description": responses.get("400", {}).get("description", TEXT[400]),
                                        "content": _json("ValidationError")}
                elif str(code) not in responses:
                    responses[str(code)] = {"description": TEXT[code], "content": _json("Error")}
            if 429 in codes:
                responses["429"].setdefault("headers", {"Retry-After": {
                    "schema": {"type": "integer"}, "description": "Seconds to wait."}})
    return result
