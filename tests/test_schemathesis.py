"""The API answers as /api/schema/ says: schemathesis's default checks, all of them, as a signed-in user (bounded).

Two rules of an upload no schema can state are supplied here, as a client that follows the docs
would, in the cases meant to be valid: the file must be a decodable image (each gets a small JPEG
of its own instead of random bytes; the hostile-upload tests cover the bytes), and a range's end
year may not come before its start (the years are sent in order). Cases meant to be invalid are
sent as generated. Everything else is the schema's own
word: the text rule's pattern, ``additionalProperties: false``, the page bounds, every error status.
"""

from __future__ import annotations

import itertools

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from config.wsgi import application
from tests import images

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 8  # per operation and generation phase; derandomized, so every run sends the same cases
CASES_SENT: list[str] = []
_seeds = itertools.count(5000)

# Generating the schema reads no database, so it can be loaded when the module is collected.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def token(db):
    from rest_framework.authtoken.models import Token

    from tests.factories import UserFactory

    # As Django's test client does: the WSGI app must not close the test database between requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield Token.objects.create(user=UserFactory(username="fuzzer")).key
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(scope="module", autouse=True)
def report_the_cases_sent():
    yield
    print(f"\nschemathesis: {len(CASES_SENT)} requests over {len(set(CASES_SENT))} operations")


def _as_a_client_would(case) -> None:
    if case.operation.method.upper() != "POST" or case.operation.path != "/api/v1/photos/":
        return
    body = case.body
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if not positive or not isinstance(body, dict):
        return  # negative cases stay as generated: whatever they break must be refused
    if isinstance(body.get("image"), bytes | str):
        body["image"] = images.jpeg(48, 40, seed=next(_seeds))
    start, end = body.get("year_from"), body.get("year_to")
    if isinstance(start, int) and isinstance(end, int) and start > end:
        body["year_from"], body["year_to"] = end, start


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_conforms_to_its_schema(case, token):
    _as_a_client_would(case)
    CASES_SENT.append(case.operation.label)
    case.call_and_validate(headers={"Authorization": f"Token {token}"})
