"""Every write endpoint × every role, generated from the URL conf and checked against a table.

A URL pattern "writes" when its view accepts POST, PUT, PATCH or DELETE: a DRF view by its methods,
a function view by its ``require_http_methods`` / ``require_POST`` decorator. A view that declares
no methods answers every method alike, so it must be listed in READ_ONLY (and write nothing), as
must a redirect that answers every method the same way. A new write endpoint without a row in
EXPECTED, or a new undeclared view, fails ``test_the_table_covers...``.

The request is a small valid one where that is cheap, otherwise an empty body: the table pins who
gets through the door. Codes: ``login`` a redirect to the sign-in page, ``staff`` to the admin's;
a plain 302 the form's redirect back with its message; 200 on a form page its re-display with an
error; 401 the API without credentials; 403 a refusal (a suspended account gets it for every write,
before its body is read: ``test_a_suspended_account_is_refused_before_its_body_is_read``); 400 the
request reached validation.
"""

# ruff: noqa: F811 - the community fixtures are imported by name and used as arguments
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from colorization.drafting import draft_request
from colorization.models import DraftStatus
from community.models import Collection, Evidence, HistorianRequest, Notification, Report
from tests import images
from tests.community.conftest import (  # noqa: F401 - fixtures
    community_tasks_run_here,
    correction,
    fast_password_hasher,
    people,
    photo,
    quiet_broker,
)
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "volunteer", "owner", "historian", "moderator", "suspended")
WRITE = {"POST", "PUT", "PATCH", "DELETE"}
LOGIN = "login"  # a redirect to the sign-in page
STAFF = "staff"  # a redirect to the admin's sign-in page

# Pages that declare no methods: they only read, whatever the method.
READ_ONLY = {
    "healthz", "photo-detail", "photo-download-original", "photo-download-colour", "gallery", "collection-list",
    "collection-detail", "collection-export-csv", "collection-export-json", "iiif-photo-manifest",
    "iiif-collection-manifest", "feed-accepted", "correction-editor", "correction-detail", "profile",
    "verification-queue", "needs-review", "needs-correction", "my-contributions", "notification-open", "leaderboard",
    "moderation-queue", "audit-log", "home", "my-photos", "model-list", "model-detail", "training-run-list",
    "training-run-detail", "metrics",
    "favicon.ico",  # a RedirectView: every method is answered with the same redirect
}  # fmt: skip

# endpoint name -> status per role, in ROLES order.
EXPECTED = {
    # Django's account pages (sign-in and reset carry the limits of credentials_limit).
    "login": (200, 200, 200, 200, 200, 200),
    "logout": (302, 302, 302, 302, 302, 302),
    "password_change": (LOGIN, 200, 200, 200, 200, 200),
    "password_reset": (200, 200, 200, 200, 200, 200),
    "password_reset_confirm": (200, 200, 200, 200, 200, 200),
    "signup": (200, 302, 302, 302, 302, 302),
    # API
    "api-token": (400, 400, 400, 400, 400, 400),  # an empty body: username and password are missing
    "api-photo-list": (401, 201, 201, 201, 201, 403),
    "api-photo-detail": (401, 403, 200, 403, 403, 403),
    "api-photo-drafts": (401, 201, 201, 201, 201, 403),
    "api-photo-preview": (401, 200, 200, 200, 200, 200),
    "api-photo-suggest": (401, 400, 400, 400, 400, 400),
    "api-draft-retry": (401, 201, 201, 201, 201, 403),
    "api-photo-corrections": (401, 201, 201, 201, 201, 403),
    "api-correction-votes": (401, 201, 403, 201, 201, 403),
    "api-correction-decision": (401, 403, 403, 403, 200, 403),
    # Revocation needs an accepted correction (the world's is pending: 409 past the door).
    "api-correction-revocations": (401, 409, 409, 409, 409, 403),
    "api-revocation-votes": (401, 409, 409, 409, 409, 403),
    # Only historians verify sources, and not on their own corrections.
    "api-source-verification": (401, 403, 403, 200, 403, 403),
    # Forms
    "upload": (LOGIN, 200, 200, 200, 200, 403),
    "draft-create": (LOGIN, 302, 302, 302, 302, 403),
    "draft-retry": (LOGIN, 302, 302, 302, 302, 403),
    "photo-recolorize": (LOGIN, 302, 302, 302, 302, 403),
    "model-rollback": (STAFF, STAFF, STAFF, STAFF, STAFF, STAFF),  # staff only; nobody here is staff
    "collection-new": (LOGIN, 302, 302, 302, 302, 403),
    "collection-edit": (LOGIN, 403, 302, 403, 403, 403),
    "collection-add-photo": (LOGIN, 403, 302, 403, 403, 403),
    "collection-item-add": (LOGIN, 403, 302, 403, 403, 403),
    "collection-item-remove": (LOGIN, 403, 302, 403, 403, 403),
    "collection-item-move": (LOGIN, 403, 302, 403, 403, 403),
    "profile-edit": (LOGIN, 302, 302, 302, 302, 403),
    "historian-request": (LOGIN, 302, 302, 200, 200, 403),
    "verification-decide": (LOGIN, 403, 403, 403, 302, 403),
    "correction-vote": (LOGIN, 302, 302, 302, 302, 403),
    "correction-decide": (LOGIN, 302, 302, 302, 302, 403),
    "correction-revoke": (LOGIN, 302, 302, 302, 302, 403),
    "correction-revocation-vote": (LOGIN, 302, 302, 302, 302, 403),
    "source-verify": (LOGIN, 302, 302, 302, 302, 403),
    "comment-create": (LOGIN, 302, 302, 302, 302, 403),
    "report": (LOGIN, 302, 302, 302, 302, 403),
    "notifications": (LOGIN, 302, 302, 302, 302, 302),
    "report-resolve": (LOGIN, 403, 403, 403, 302, 403),
    "moderation-hide": (LOGIN, 403, 403, 403, 302, 403),
    "moderation-suspend": (LOGIN, 403, 403, 403, 302, 403),
    "gold-create": (LOGIN, 403, 403, 403, 200, 403),
}


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.name, p.callback


def declared_methods(callback) -> set[str] | None:
    """The methods a view answers, or None when it declares none (it then answers every method)."""
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if cls is not None:
        return {m.upper() for m in cls.http_method_names if hasattr(cls, m)}
    f = callback
    while f is not None:  # require_http_methods keeps its list in a closure; login_required sets __wrapped__
        for cell in getattr(f, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if isinstance(value, list | tuple) and value and all(isinstance(x, str) and x.isupper() for x in value):
                return set(value)
        f = getattr(f, "__wrapped__", None)
    return None


def endpoints() -> dict[str, tuple[str, set[str] | None]]:
    found = {}
    for route, name, callback in _walk(get_resolver().url_patterns):
        if route.startswith("admin/") or route.startswith("media/"):
            continue  # Django's admin (staff only, its own checks); media is GET/HEAD only
        found.setdefault(name or route, (route, declared_methods(callback)))
    return found


def write_endpoints() -> dict[str, str]:
    return {
        name: route
        for name, (route, methods) in endpoints().items()
        if methods is not None and methods & WRITE and name not in READ_ONLY
    }


def test_the_table_covers_every_write_endpoint_and_every_undeclared_view():
    found = endpoints()
    writes = write_endpoints()
    undeclared = {name for name, (_, methods) in found.items() if methods is None}
    assert set(writes) - set(EXPECTED) == set(), "a write endpoint without a row in EXPECTED"
    assert set(EXPECTED) - set(writes) == set(), "a row for an endpoint that no longer writes"
    assert undeclared - READ_ONLY == set(), "a view that declares no methods: declare them, or list it in READ_ONLY"
    assert all(len(row) == len(ROLES) for row in EXPECTED.values())


@pytest.fixture
def world(people, correction, settings):
    """One of everything the endpoints act on; the correction's author owns the photo and a collection."""
    settings.CHROMA_LOGIN_RATE = settings.CHROMA_PASSWORD_RESET_RATE = "1000/hour"
    owner = people["author"]
    photo = correction.photo
    type(photo).objects.filter(pk=photo.pk).update(owner=owner)
    failed = draft_request(photo=photo, requested_by=owner)
    type(failed).objects.filter(pk=failed.pk).update(status=DraftStatus.FAILED)
    collection = Collection.objects.create(owner=owner, title="Trams", slug="trams", is_public=True)
    collection.items.create(photo=photo, position=1)
    report = Report.objects.create(reporter=people["volunteer2"], photo=photo, reason="spam")
    request = HistorianRequest.objects.create(user=people["volunteer2"], statement="Curator of the city archive.")
    Notification.objects.create(recipient=people["volunteer"], verb="x", url="/")
    source = Evidence.objects.create(correction=correction, text="Paint ledger, 1912")
    return {
        "pk": {
            "api-photo-detail": photo.pk,
            "api-photo-drafts": photo.pk,
            "api-photo-preview": photo.pk,
            "api-photo-suggest": photo.pk,
            "api-photo-corrections": photo.pk,
            "api-draft-retry": failed.pk,
            "draft-retry": failed.pk,
            "api-correction-votes": correction.pk,
            "api-correction-decision": correction.pk,
            "correction-vote": correction.pk,
            "correction-decide": correction.pk,
            "api-correction-revocations": correction.pk,
            "api-revocation-votes": correction.pk,
            "correction-revoke": correction.pk,
            "correction-revocation-vote": correction.pk,
            "api-source-verification": source.pk,
            "source-verify": source.pk,
            "draft-create": photo.pk,
            "photo-recolorize": photo.pk,
            "collection-edit": collection.pk,
            "collection-item-add": collection.pk,
            "collection-item-remove": collection.pk,
            "collection-item-move": collection.pk,
            "verification-decide": request.pk,
            "report-resolve": report.pk,
            "report": photo.pk,
        },
        "photo": photo,
        "collection": collection,
        "correction": correction,
    }


def _url(name: str, route: str, world) -> str:
    url = "/" + route
    replacements = {
        "<int:pk>": str(world["pk"].get(name, world["photo"].pk)),
        "<int:photo_id>": str(world["photo"].pk),
        "<str:kind>": "photo",
        "<str:username>": "volunteer3",
        "<slug:slug>": "base",
        "<uidb64>": "MQ",
        "<token>": "set-password",
    }
    for token, value in replacements.items():
        url = url.replace(token, value)
    return url


def _body(name: str, world) -> dict:
    photo, collection = world["photo"], world["collection"]
    return {
        "api-correction-votes": {"value": 1},
        "api-correction-decision": {"decision": "accept", "reason": "Matches the archive"},
        "api-photo-detail": {"title": "Renamed"},
        "api-photo-drafts": {"render_size": 64},
        "api-photo-corrections": {
            "base_correction": world["correction"].pk,
            "hints": {"points": [{"x": 5, "y": 5, "color": "#7a5230", "size": 3}], "strokes": []},
        },
        "api-photo-preview": {"hints": {"points": [], "strokes": []}, "size": 64},
        "collection-add-photo": {"collection": collection.pk, "photo": photo.pk},
        "collection-item-add": {"photo": photo.pk},
        "collection-item-move": {"direction": "up"},
        "collection-new": {"title": "Mine"},
        "collection-edit": {"title": "Renamed", "description": "", "is_public": "on"},
        "profile-edit": {"display_name": "Me", "affiliation": "", "bio": ""},
        "historian-request": {"statement": "I curate the municipal photo archive since 2009."},
        "verification-decide": {"decision": "deny", "reason": "Not enough"},
        "correction-vote": {"value": "1"},
        "correction-decide": {"decision": "accept", "reason": "Matches"},
        "api-correction-revocations": {"reason": "New print", "evidence": [{"text": "A colour print"}]},
        "api-revocation-votes": {"value": 1},
        "api-source-verification": {"verdict": "verified", "note": "Seen it"},
        "correction-revoke": {"reason": "New print", "evidence_text": "A colour print"},
        "correction-revocation-vote": {"value": "1"},
        "source-verify": {"verdict": "verified", "note": "Seen it"},
        "comment-create": {"photo": photo.pk, "body": "Lovely"},
        "report": {"reason": "Spam, copied from elsewhere"},
        "report-resolve": {"status": "dismissed", "resolution": "Fine"},
        "moderation-hide": {"kind": "photo", "pk": photo.pk, "hidden": "0", "reason": "x"},
        "moderation-suspend": {"suspend": "0"},
    }.get(name, {})


def _status(response) -> int | str:
    if response.status_code == 302 and "/accounts/login/" in response.get("Location", ""):
        return LOGIN
    if response.status_code == 302 and "/admin/login/" in response.get("Location", ""):
        return STAFF
    return response.status_code


def _answer(name: str, role: str, world, people) -> int | str:
    route = write_endpoints()[name]
    user = None if role == "anonymous" else people["author" if role == "owner" else role]
    url, body = _url(name, route, world), _body(name, world)
    if name == "api-photo-list":  # a real upload, a different image each time
        data = images.jpeg(64, 48, seed=100 + ROLES.index(role))
        upload = SimpleUploadedFile("p.jpg", data, content_type="image/jpeg")
        return _status(api_client_for(user).post(url, {"image": upload, "title": "x"}, format="multipart"))
    if route.startswith("api/"):
        client = api_client_for(user)
        method = "patch" if name == "api-photo-detail" else "post"
        return _status(getattr(client, method)(url, body, format="json"))
    client = Client()
    if user is not None:
        client.force_login(user)
    return _status(client.post(url, body))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_role_gets_the_expected_answer(name, world, people):
    """One row: the roles in ROLES order against the same objects (refusals first change nothing)."""
    answers = tuple(_answer(name, role, world, people) for role in ROLES)
    assert answers == EXPECTED[name], dict(zip(ROLES, answers, strict=True))


# Writes a suspended account may still make: signing in and out, its password, its notifications'
# read marks. Everything else in EXPECTED refuses it (403) before reading the body.
SUSPENDED_MAY = {
    "login",
    "logout",
    "password_change",
    "password_reset",
    "password_reset_confirm",
    "signup",
    "notifications",
}
# Not writes: previews and suggestions render without storing anything (they count a limit only).
NOT_WRITES = {"api-token", "api-photo-preview", "api-photo-suggest"}
BROKEN = {"title": "", "value": "sideways", "decision": "maybe", "render_size": "big", "photo": "abc", "pk": "abc"}


def test_the_table_refuses_the_suspended_account_every_write():
    suspended = ROLES.index("suspended")
    allowed = {name for name, row in EXPECTED.items() if row[suspended] != 403}
    assert allowed == SUSPENDED_MAY | NOT_WRITES | {"model-rollback"}  # rollback: staff only, refused earlier


def _post_broken(name: str, role: str, world, people):
    route = write_endpoints()[name]
    user = people["author" if role == "owner" else role]
    url = _url(name, route, world)
    if route.startswith("api/"):
        client = api_client_for(user)
        if name == "api-photo-list":  # no file, an empty title: a 400 for anyone who may upload
            return client.post(url, {"title": ""}, format="multipart")
        return getattr(client, "patch" if name == "api-photo-detail" else "post")(url, BROKEN, format="json")
    client = Client()
    client.force_login(user)
    return client.post(url, BROKEN)


@pytest.mark.parametrize("name", sorted(set(EXPECTED) - SUSPENDED_MAY - NOT_WRITES - {"model-rollback"}))
def test_a_suspended_account_is_refused_before_its_body_is_read(name, world, people):
    """The same broken body: 403 naming the suspension for the suspended account, where the API tells
    someone allowed to write (the owner for owner-only endpoints, the moderator for moderators') that it is a 400."""
    response = _post_broken(name, "suspended", world, people)
    assert response.status_code == 403, (response.status_code, response.content[:300])
    assert b"suspended" in response.content
    if name.startswith("api-") and name != "api-draft-retry":  # a retry has no body to break
        allowed = {"api-photo-detail": "owner", "api-correction-decision": "moderator"}.get(name, "volunteer")
        assert _post_broken(name, allowed, world, people).status_code == 400
