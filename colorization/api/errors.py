"""JSON errors for the API: ``{"error": code, "detail": message, "fields": {...}}``."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from colorization.images import ImageRejected

TOO_LARGE = (RequestDataTooBig, TooManyFilesSent, TooManyFieldsSent)


def too_large_message(exc: Exception) -> str:
    if isinstance(exc, TooManyFilesSent):
        return f"Too many files in one request; the limit is {settings.DATA_UPLOAD_MAX_NUMBER_FILES}."
    if isinstance(exc, TooManyFieldsSent):
        return f"Too many fields in one request; the limit is {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}."
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return f"The request's fields (files aside) are larger than the limit of {limit / 1e6:.0f} MB."


class UnsupportedImage(exceptions.APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_code = "unsupported_type"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _from_image_rejected(exc: ImageRejected) -> exceptions.APIException:
    if exc.status == 413:
        return PayloadTooLarge(exc.message, exc.code)
    if exc.status == 415:
        return UnsupportedImage(exc.message, exc.code)
    if exc.status == 409:
        return Conflict(exc.message, exc.code)
    return exceptions.ValidationError({"image": [exc.message]}, exc.code)


def exception_handler(exc, context):
    if isinstance(exc, ImageRejected):
        exc = _from_image_rejected(exc)
    elif isinstance(exc, TOO_LARGE):  # raised while DRF parses the body
        exc = PayloadTooLarge(too_large_message(exc))
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        fields = data if isinstance(data, dict) else {"non_field_errors": data}
        first = next(iter(fields.values()), ["Invalid input."])
        message = first[0] if isinstance(first, list) and first else str(first)
        body = {"error": "invalid", "detail": str(message), "fields": fields}
        if isinstance(fields, dict) and "image" in fields and len(fields) == 1:
            body["error"] = getattr(exc, "default_code", "invalid")
            codes = exc.get_codes()
            if isinstance(codes, dict) and codes.get("image"):
                body["error"] = codes["image"][0] if isinstance(codes["image"], list) else codes["image"]
    else:
        detail = data.get("detail", data) if isinstance(data, dict) else data
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        body = {"error": code, "detail": str(detail)}
    return Response(body, status=response.status_code, headers=_headers(response))


def _headers(response) -> dict:
    return {k: v for k, v in response.items() if k in ("Retry-After", "WWW-Authenticate", "Allow")}


def error_response(message: str, code: str, status_code: int) -> Response:
    return Response({"error": code, "detail": message}, status=status_code)
