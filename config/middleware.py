"""Request-wide input rules, before any view runs.

``InputMiddleware`` applies the text rule (``colorization.text``) to every door a request has:
its path, query string, form fields, uploaded file names and JSON body, so a NUL byte is a 400 that
names the field on SQLite and PostgreSQL alike instead of a database error. Under ``/api/`` it also
makes sure every error is JSON: a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` or more files or fields
than allowed is a JSON 413 (Django would answer an HTML 400), and any other HTML error page
(an unknown URL, a server error) becomes ``{"error": ..., "detail": ...}`` with the same status.
"""

from __future__ import annotations

import json
import time
from http import HTTPStatus

from django.http import HttpResponse, JsonResponse
from django.utils.html import escape

from colorization.api.errors import TOO_LARGE, too_large_message
from colorization.text import control_character, text_problems

API_PREFIX = "/api/"
_ERROR_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def _is_json(request) -> bool:
    content_type = request.content_type or ""
    return content_type == "application/json" or content_type.endswith("+json")


class InputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        is_api = request.path.startswith(API_PREFIX)
        try:
            problems = dict(self._problems(request))
        except TOO_LARGE as exc:
            if not is_api:
                raise  # Django's 400 page for the site's forms
            return JsonResponse({"error": "too_large", "detail": too_large_message(exc)}, status=413)
        if problems:
            return self._refuse(problems, is_api)
        response = self.get_response(request)
        if is_api and response.status_code >= 400 and not _is_json_response(response):
            return _as_json(response)
        return response

    def process_exception(self, request, exc):
        if request.path.startswith(API_PREFIX) and isinstance(exc, TOO_LARGE):
            return JsonResponse({"error": "too_large", "detail": too_large_message(exc)}, status=413)
        return None

    @staticmethod
    def _problems(request):
        yield from text_problems(request.path, "path")
        sources = [request.GET]
        if request.method == "POST":
            sources.append(request.POST)
        for source in sources:
            for name, values in source.lists():
                for value in (name, *values):
                    yield from text_problems(value, _printable(name))
        if request.method == "POST":
            for name, files in request.FILES.lists():
                for f in files:
                    yield from text_problems(f.name or "", _printable(name))
        if _is_json(request) and request.method in ("POST", "PUT", "PATCH"):
            try:
                data = json.loads(request.body or b"null")
            except ValueError:
                return  # the parser answers malformed JSON with its own 400
            for name, message in text_problems(data):
                yield _printable(name), message

    @staticmethod
    def _refuse(problems: dict[str, str], is_api: bool) -> HttpResponse:
        fields = {name: [message] for name, message in problems.items()}
        first_field, first = next(iter(problems.items()))
        detail = f"{first_field}: {first}"
        if is_api:
            return JsonResponse({"error": "invalid", "detail": detail, "fields": fields}, status=400)
        items = "".join(f"<li><b>{escape(k)}</b>: {escape(v)}</li>" for k, v in problems.items())
        return HttpResponse(
            f"<!doctype html><title>Bad request</title><h1>Bad request</h1><ul>{items}</ul>",
            status=400,
            content_type="text/html; charset=utf-8",
        )


def _printable(name: str) -> str:
    """A field name fit to show, even when the name itself holds a control character."""
    return name.encode("unicode_escape").decode("ascii") if control_character(name) else name


def _is_json_response(response) -> bool:
    return "json" in response.get("Content-Type", "")


def _as_json(response) -> JsonResponse:
    status = response.status_code
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    code = _ERROR_CODES.get(status, "server_error" if status >= 500 else "error")
    converted = JsonResponse({"error": code, "detail": f"{phrase}."}, status=status)
    for header in ("Allow", "Retry-After", "WWW-Authenticate"):
        if header in response:
            converted[header] = response[header]
    return converted


class RenderTimingMiddleware:
    """``Server-Timing: cpu;dur=…``: the CPU milliseconds this request took in this thread (on when
    ``CHROMA_SERVER_TIMING`` is set; ``benchmarks/gallery_load.py`` averages it per page).

    ``time.thread_time``, not ``process_time``: a gthread worker serves many requests at once, and
    the process's clock would charge each of them with the others' work.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.thread_time()
        response = self.get_response(request)
        response["Server-Timing"] = f"cpu;dur={(time.thread_time() - started) * 1000:.3f}"
        return response
