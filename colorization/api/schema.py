"""OpenAPI post-processing: the schema states the rules the API applies, so clients (and schemathesis) can trust it.

- Every operation documents the JSON errors it can answer with. The exception handler
  (``errors.py``), ``config.middleware.InputMiddleware`` and ``config.error_pages`` answer every
  error under ``/api/`` as ``{"error", "detail", "fields"?}``.
- The text rule (``colorization.text``) becomes a ``pattern`` on every string a client sends (body
  fields, query and path parameters), and on required text fields that trim (DRF's CharField) also
  "not only white space".
- Request bodies take only the fields they declare (``additionalProperties: false``): the input
  serializers refuse unknown fields (``serializers.RequestSerializer``) and the hints parser
  refuses unknown keys.
- ``page`` and ``page_size`` state the bounds ``pagination.Pagination`` enforces.
"""

from __future__ import annotations

from colorization.api.pagination import Pagination
from colorization.text import SCHEMA_PATTERN, SCHEMA_PATTERN_NOT_BLANK

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
    "401": "Not signed in, or (auth/token/) wrong credentials",
    "403": "Not allowed (or suspended)",
    "404": "Not found, or not visible to you",
    "409": "Conflicts with the current state",
    "413": "Too large (a file, the request's fields, or too many files)",
    "415": "Not a file type we read",
    "429": "Too many requests; see Retry-After",
    "503": "The database is not answering (error database_unavailable); see Retry-After",
}


def add_error_responses(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for name, schema in schemas.items():
        if name.endswith("Request"):  # COMPONENT_SPLIT_REQUEST: what clients send
            _state_input_rules(schema)
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            for parameter in operation.get("parameters", []):
                _state_parameter_rules(parameter)
            for content in operation.get("requestBody", {}).get("content", {}).values():
                if "$ref" not in content.get("schema", {}):
                    _state_input_rules(content.get("schema", {}))
            codes = ["400", "401", "403", "404", "429", "503"]
            if method in ("post", "put", "patch"):
                codes += ["409", "413", "415"]
            responses = operation.setdefault("responses", {})
            for code in codes:
                response = responses.setdefault(code, {"description": DESCRIPTIONS[code]})
                response.setdefault("content", ref)
    return result


def _state_input_rules(schema: dict, required: bool = False) -> None:
    """Text patterns on strings and no undeclared properties, all the way down one request schema."""
    if not isinstance(schema, dict) or "$ref" in schema:
        return
    kind = schema.get("type")
    if kind == "string" and "enum" not in schema and "pattern" not in schema and schema.get("format") != "binary":
        not_blank = required and schema.get("minLength", 0) >= 1
        schema["pattern"] = SCHEMA_PATTERN_NOT_BLANK if not_blank else SCHEMA_PATTERN
    if kind == "object" or "properties" in schema:
        if schema.get("additionalProperties") in (None, True):
            schema["additionalProperties"] = False
        needed = set(schema.get("required", []))
        for name, sub in schema.get("properties", {}).items():
            _state_input_rules(sub, required=name in needed)
    if isinstance(schema.get("items"), dict):
        _state_input_rules(schema["items"])
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, []):
            _state_input_rules(sub, required=required)


def _state_parameter_rules(parameter: dict) -> None:
    schema = parameter.get("schema", {})
    name = parameter.get("name")
    if parameter.get("in") == "query" and name == Pagination.page_size_query_param:
        schema.update(minimum=1, maximum=Pagination.max_page_size)
        parameter["description"] = f"results per page, 1 to {Pagination.max_page_size} (default {Pagination.page_size})"
    elif parameter.get("in") == "query" and name == Pagination.page_query_param:
        schema.update(minimum=1)
    elif schema.get("type") == "string" and "enum" not in schema and "pattern" not in schema:
        schema["pattern"] = SCHEMA_PATTERN
