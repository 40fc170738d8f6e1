"""The site's own error pages, in development too, and the API's root.

With ``DEBUG`` on, Django answers an ``Http404`` raised by a view with its yellow technical page;
a visitor (or a newcomer trying ``bin/run``) should see the branded 404 instead, exactly as in
production. URLs that match no route still get Django's route listing in development, which is
what a developer wants there. Under ``/api/`` the JSON error handling applies (config.middleware).
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token
from django.views.defaults import page_not_found
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse


class BrandedNotFoundMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if settings.DEBUG and isinstance(exception, Http404) and not request.path.startswith("/api/"):
            return page_not_found(request, exception)
        return None


logger = logging.getLogger(__name__)

# What a lost or refused database connection raises (a restart, a network cut, the connect timeout).
DATABASE_DOWN = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER_S = 5
DATABASE_DOWN_DETAIL = (
    "The database is not answering just now, so this request was not finished and nothing of it was kept "
    f"half-saved. Try again in {DATABASE_RETRY_AFTER_S} seconds (the same file uploaded again makes no duplicate)."
)


def database_unavailable(request) -> HttpResponse:
    """503 with Retry-After, naming the database: JSON under /api/, a page without a request context elsewhere."""
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": "database_unavailable", "detail": DATABASE_DOWN_DETAIL}, status=503)
    else:
        response = HttpResponse(loader.get_template("503.html").render({"detail": DATABASE_DOWN_DETAIL}), status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """A view that loses the database (sign-in, a service's write) answers 503, not a 500.

    The services leave nothing half-saved when it happens (``colorization.services.photo_upload``
    removes the files of a row it could not save), so the answer can honestly say "try again".
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_DOWN):
            logger.warning("database unavailable during %s %s: %s", request.method, request.path, exception)
            return database_unavailable(request)
        return None


@requires_csrf_token
def server_error(request, template_name: str = "500.html"):
    """The 500 page without a request context: the database may be what failed.

    Django calls this while handling the exception, so a lost database raised outside a view (a
    middleware saving the session) still gets the 503 of ``database_unavailable``.
    """
    if isinstance(sys.exc_info()[1], DATABASE_DOWN):
        return database_unavailable(request)
    return HttpResponseServerError(loader.get_template(template_name).render())


@extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="Where each collection of the API lives")
@api_view(["GET"])
@permission_classes([AllowAny])
def api_root(request, format=None):
    """The API's entry point: where each collection lives (schema at /api/schema/, docs at /api/docs/)."""

    def url(name: str, *args) -> str:
        return reverse(name, args=args, request=request, format=format)

    return Response(
        {
            "photos": url("api-photo-list"),
            "photo": url("api-photo-detail", 1).replace("/1/", "/{id}/"),
            "photo_drafts": url("api-photo-drafts", 1).replace("/1/", "/{id}/"),
            "photo_corrections": url("api-photo-corrections", 1).replace("/1/", "/{id}/"),
            "drafts": url("api-draft-detail", 1).replace("/1/", "/{id}/"),
            "corrections": url("api-correction-detail", 1).replace("/1/", "/{id}/"),
            "correction_votes": url("api-correction-votes", 1).replace("/1/", "/{id}/"),
            "models": url("api-model-list"),
            "training_runs": url("api-training-run-list"),
            "auth_token": url("api-token"),
            "schema": url("api-schema"),
            "docs": url("api-docs"),
        }
    )
