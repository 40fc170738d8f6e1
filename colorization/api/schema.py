"""OpenAPI post-processing: every operation documents the JSON errors it can answer with.

The exception handler (``errors.py``) and ``config.middleware.InputMiddleware`` answer every error
under ``/api/`` as ``{"error", "detail", "fields"?}``; this hook writes that shape into the schema for
the statuses each operation can give, so clients (and schemathesis) see what really comes back.
"""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "description": "a short code: invalid, not_found, throttled, too_large, ..."},
        "detail": {"type": "string", "description": "what went wrong, in words"},
        "fields": {"type": "object", "additionalProperties": True, "description": "per-field messages (400)"},
    },
    "required": ["error", "detail"],
}
DESCRIPTIONS = {
    "400": "Bad input (the fields name what is wrong; control characters are refused everywhere)",
    "401": "Not signed in",
    "403": "Not allowed (or suspended)",
    "404": "Not found, or not visible to you",
    "409": "Conflicts with the current state",
    "413": "Too large (a file, the request's fields, or too many files)",
    "415": "Not a file type we read",
    "429": "Too many requests; see Retry-After",
}


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            codes = ["400", "401", "403", "404", "429"]
            if method in ("post", "put", "patch"):
                codes += ["409", "413", "415"]
            responses = operation.setdefault("responses", {})
            for code in codes:
                response = responses.setdefault(code, {"description": DESCRIPTIONS[code]})
                response.setdefault("content", ref)
    return result
