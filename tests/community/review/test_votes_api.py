"""The votes and decision API: shapes, status codes, errors, rate limit."""

from __future__ import annotations

import pytest

from colorization.models import DraftStatus
from community.models import Correction, CorrectionKind, Evidence, Vote

pytestmark = pytest.mark.django_db


def post_vote(api, user, correction, **body):
    return api(user).post(f"/api/v1/corrections/{correction.pk}/votes/", {"value": 1, **body}, format="json")


def test_a_vote_counts_and_a_second_post_changes_it(api, people, correction):
    evidence = [{"text": "Hand-tinted postcard, 1912", "url": "https://example.org/postcard"}]
    first = post_vote(api, people["historian"], correction, comment="Matches the postcard", evidence=evidence)
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["vote"]["value"] == 1 and body["vote"]["is_historian"] is True and body["vote"]["weight"] == 3.0
    assert body["vote"]["evidence"][0]["text"] == "Hand-tinted postcard, 1912"
    assert body["correction"]["votes"] == {"up": 1, "down": 0, "weight_up": 3.0, "weight_down": 0.0, "historians": 1}
    assert body["decided"] is None
    second = post_vote(api, people["historian"], correction, value=-1)
    assert second.status_code == 200 and second.json()["correction"]["votes"]["down"] == 1
    assert Vote.objects.filter(correction=correction).count() == 1
    assert Evidence.objects.filter(vote__isnull=False).count() == 1  # kept: the change did not resend it
    listed = api().get(f"/api/v1/corrections/{correction.pk}/votes/").json()
    assert [(v["voter"], v["value"], v["is_historian"]) for v in listed] == [("historian", -1, True)]


def test_bad_votes_get_clear_errors(api, people, correction):
    for body in ({"value": 0}, {"value": 2}, {"value": "yes"}):
        response = api(people["volunteer"]).post(f"/api/v1/corrections/{correction.pk}/votes/", body, format="json")
        assert response.status_code == 400
        assert response.json()["error"] == "invalid" and "value" in response.json()["fields"]
    bad_evidence = post_vote(api, people["volunteer"], correction, evidence=[{"url": "ftp://x"}])
    assert bad_evidence.status_code == 400 and "evidence" in bad_evidence.json()["fields"]
    assert not Vote.objects.exists()
    missing = api(people["volunteer"]).post("/api/v1/corrections/999999/votes/", {"value": 1}, format="json")
    assert missing.status_code == 404


def test_own_correction_is_forbidden_and_decided_is_a_conflict(api, people, correction):
    own = post_vote(api, people["author"], correction)
    assert own.status_code == 403 and own.json()["error"] == "permission_denied"
    decided = api(people["moderator"]).post(
        f"/api/v1/corrections/{correction.pk}/decision/",
        {"decision": "accept", "reason": "Archive photo"},
        format="json",
    )
    assert decided.status_code == 200 and decided.json()["status"] == "accepted"
    late = post_vote(api, people["volunteer"], correction)
    assert late.status_code == 409 and late.json()["error"] == "decided"
    again = api(people["moderator"]).post(
        f"/api/v1/corrections/{correction.pk}/decision/", {"decision": "reject", "reason": "x"}, format="json"
    )
    assert again.status_code == 409


def test_a_correction_still_rendering_cannot_be_voted_on(api, people, photo):
    draft = photo.drafts.get()
    rendering = Correction.objects.create(photo=photo, author=people["author"], kind=CorrectionKind.HINTS, render=draft)
    assert draft.status != DraftStatus.DONE
    response = post_vote(api, people["volunteer"], rendering)
    assert response.status_code == 409 and response.json()["error"] == "not_rendered"


def test_votes_are_rate_limited(api, people, correction, settings):
    settings.CHROMA_VOTE_RATE = "3/hour"
    codes = [post_vote(api, people["volunteer"], correction, value=v).status_code for v in (1, -1, 1, -1)]
    assert codes == [201, 200, 200, 429]
    response = post_vote(api, people["volunteer"], correction)
    assert response.json()["error"] == "throttled" and int(response["Retry-After"]) > 0
    assert Vote.objects.get().value == 1


def test_the_decision_api_validates_its_input(api, people, correction):
    url = f"/api/v1/corrections/{correction.pk}/decision/"
    assert api(people["moderator"]).post(url, {"decision": "accept"}, format="json").status_code == 400
    assert api(people["moderator"]).post(url, {"decision": "maybe", "reason": "x"}, format="json").status_code == 400
    assert api(people["moderator"]).post(url, {"decision": "accept", "reason": "  "}, format="json").status_code == 400
    correction.refresh_from_db()
    assert correction.status == "pending"


def test_the_openapi_schema_documents_votes_and_decisions(api, people):
    schema = api().get("/api/schema/?format=json").json()
    assert "/api/v1/corrections/{id}/votes/" in schema["paths"]
    assert "/api/v1/corrections/{id}/decision/" in schema["paths"]
