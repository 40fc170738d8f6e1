"""Revoking an accepted correction: by a moderator or by the community's rule, and what it undoes.

The community version reverts to the correction it replaced, the training example is withdrawn
for good (the next fine-tune's bucket leaves it out), models trained on it are flagged in the
registry (pages and API), the IIIF manifest and the exports get a new version with a changelog
entry, the Atom feed announces it and the audit log records it.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from colorization.finetuning import bucket_examples
from colorization.model_registry import base_model
from colorization.models import ColorModel, RunStatus, Split, TrainingExample, TrainingRun
from community.models import (
    Correction,
    CorrectionStatus,
    ModerationAction,
    Profile,
    ReputationEvent,
    Revocation,
    RevocationStatus,
    TrainingStatus,
)
from community.review import decisions, revocations
from tests.community.conftest import correction_for, person

pytestmark = pytest.mark.django_db

EVIDENCE = [{"text": "Fire brigade ledger, 1911: the tram was painted green", "url": "https://archive.example/ledger"}]


def accept(correction, moderator, capture):
    with capture(execute=True):
        decisions.correction_decide(
            correction_id=correction.pk, moderator=moderator, decision="accept", reason="Matches the archive"
        )
    correction.refresh_from_db()
    return correction


@pytest.fixture
def two_versions(photo, people, django_capture_on_commit_callbacks):
    """``first`` accepted, then replaced by ``second`` (the community version now)."""
    first = accept(correction_for(photo, people["author"]), people["moderator"], django_capture_on_commit_callbacks)
    second = accept(
        correction_for(photo, people["volunteer3"]), people["moderator"], django_capture_on_commit_callbacks
    )
    first.refresh_from_db()
    assert (first.status, second.status) == (CorrectionStatus.SUPERSEDED, CorrectionStatus.ACCEPTED)
    assert second.replaced_id == first.pk
    return first, second


def revoke(correction, moderator, capture, reason="The ledger shows green, not red"):
    with capture(execute=True):
        revocation = revocations.correction_revoke(
            correction_id=correction.pk, moderator=moderator, reason=reason, evidence=EVIDENCE
        )
    correction.refresh_from_db()
    return revocation


def test_a_moderator_revokes_and_the_replaced_correction_is_the_community_version_again(
    two_versions, people, api, django_capture_on_commit_callbacks
):
    first, second = two_versions
    revocation = revoke(second, people["moderator"], django_capture_on_commit_callbacks)
    first.refresh_from_db()
    assert second.status == CorrectionStatus.REVOKED
    assert first.status == CorrectionStatus.ACCEPTED
    assert revocation.status == RevocationStatus.REVOKED and revocation.restored_id == first.pk
    assert revocation.decided_by == people["moderator"] and revocation.evidence == [
        {**EVIDENCE[0], "archive_reference": ""}
    ]
    body = api().get(f"/api/v1/photos/{second.photo_id}/").json()
    assert body["community_version"]["id"] == first.pk
    # The restored version trains again; the revoked one is out for good.
    assert first.training_status == TrainingStatus.ADDED
    examples = TrainingExample.objects.filter(photo_id=second.photo_id)
    assert examples.get(withdrawn_at__isnull=True).source == f"correction:{first.pk}"
    revoked = examples.get(source=f"correction:{second.pk}")
    assert revoked.withdrawn_at is not None and revoked.revoked_at is not None
    assert revoked.revoked_url.endswith(f"/corrections/{second.pk}/#revocation-{revocation.pk}")
    # The audit log records it, with the evidence and what was restored.
    action = ModerationAction.objects.get(action="revoke", target_id=second.pk)
    assert action.moderator == people["moderator"] and action.reason == "The ledger shows green, not red"
    assert action.details["restored"] == first.pk and action.details["evidence"][0]["text"].startswith("Fire")
    # The author's acceptance points are taken back.
    events = ReputationEvent.objects.filter(user=people["volunteer3"], correction=second)
    assert sum(e.points for e in events) == 0 and events.filter(reason="correction_revoked").exists()


def test_revoking_the_only_version_leaves_the_photo_with_its_draft(
    correction, people, api, django_capture_on_commit_callbacks
):
    accept(correction, people["moderator"], django_capture_on_commit_callbacks)
    revocation = revoke(correction, people["moderator"], django_capture_on_commit_callbacks)
    assert revocation.restored_id is None
    assert api().get(f"/api/v1/photos/{correction.photo_id}/").json()["community_version"] is None
    assert correction.photo.gallery_entry.version != "community"


def test_a_revoked_example_is_never_restored_and_the_next_finetune_excludes_it(
    correction, people, django_capture_on_commit_callbacks
):
    accept(correction, people["moderator"], django_capture_on_commit_callbacks)
    example = TrainingExample.objects.get(source=f"correction:{correction.pk}")
    assert example in bucket_examples(example.genre, example.era_bucket)
    revoke(correction, people["moderator"], django_capture_on_commit_callbacks)
    assert example not in bucket_examples(example.genre, example.era_bucket)
    # A late worker retry of the acceptance cannot bring it back.
    assert decisions.correction_training_example_add(correction.pk) is False
    example.refresh_from_db()
    assert example.withdrawn_at is not None
    from colorization.training_data import training_example_add

    with correction.result_file.open("rb") as image:
        training_example_add(photo=correction.photo, image=image, source=f"correction:{correction.pk}")
    example.refresh_from_db()
    assert example.withdrawn_at is not None


def _trained_model(example: TrainingExample, slug: str, parent: ColorModel, version: int) -> ColorModel:
    model = ColorModel.objects.create(
        slug=slug, version=version, genre="", era="", parent=parent, weights=f"{slug}.safetensors", sha256="0" * 64
    )
    run = TrainingRun.objects.create(parent=parent, candidate=model, status=RunStatus.SUCCEEDED)
    run.examples.set([example])
    return model


def test_models_trained_on_a_revoked_example_are_flagged_on_pages_and_in_the_api(
    correction, people, client, api, django_capture_on_commit_callbacks
):
    accept(correction, people["moderator"], django_capture_on_commit_callbacks)
    example = TrainingExample.objects.get(source=f"correction:{correction.pk}")
    TrainingExample.objects.filter(pk=example.pk).update(split=Split.TRAIN)
    root = base_model()
    trained = _trained_model(example, "any-any-v7", root, 7)
    child = ColorModel.objects.create(
        slug="any-any-v8", version=8, parent=trained, weights="c.safetensors", sha256="1" * 64
    )
    unrelated = _trained_model(
        TrainingExample.objects.create(
            photo=correction.photo, source="other", image="x.png", width=1, height=1, genre="x", split=Split.TRAIN
        ),
        "any-any-v9",
        root,
        9,
    )
    assert api().get("/api/v1/models/any-any-v7/").json()["trained_on_revoked_data"] == []

    revocation = revoke(correction, people["moderator"], django_capture_on_commit_callbacks)

    for model in (trained, child):
        flagged = api().get(f"/api/v1/models/{model.slug}/").json()["trained_on_revoked_data"]
        assert [f["example"] for f in flagged] == [example.pk]
        assert flagged[0]["url"].endswith(revocation.get_absolute_url())
        page = client.get(model.get_absolute_url()).content.decode()
        assert "Trained on data since revoked" in page and revocation.get_absolute_url() in page
    assert api().get(f"/api/v1/models/{unrelated.slug}/").json()["trained_on_revoked_data"] == []
    assert "Trained on data since revoked" not in client.get(unrelated.get_absolute_url()).content.decode()
    listing = {m["slug"]: m for m in api().get("/api/v1/models/").json()["results"]}
    assert listing["any-any-v8"]["trained_on_revoked_data"] and not listing["any-any-v9"]["trained_on_revoked_data"]
    assert "trained on data since revoked" in client.get("/models/").content.decode()


def test_the_manifest_and_the_exports_get_a_new_version_with_a_changelog_entry(
    two_versions, people, client, django_capture_on_commit_callbacks
):
    from community.gallery.collections import collection_create, collection_photo_add

    first, second = two_versions
    photo = second.photo

    def manifest_history():
        metadata = client.get(f"/iiif/photos/{photo.pk}/manifest.json").json()["metadata"]
        by_label = {m["label"]["en"][0]: m["value"]["en"] for m in metadata}
        return by_label["Version"][0], by_label["Changelog"]

    version, changelog = manifest_history()
    assert version == "3" and len(changelog) == 3
    revoke(second, people["moderator"], django_capture_on_commit_callbacks)
    version, changelog = manifest_history()
    assert version == "4"
    assert changelog[-1].startswith("v4") and f"Correction {second.pk} revoked by moderator mod" in changelog[-1]
    assert f"Correction {first.pk} is the community version again" in changelog[-1]

    collection = collection_create(owner=people["author"], title="Trams", description="", is_public=True)
    collection_photo_add(collection=collection, curator=people["author"], photo=photo)
    record = client.get(f"/collections/{collection.pk}/export.json").json()["photos"][0]
    assert record["version"] == 4 and record["changelog"][-1]["change"] == "revoked"
    assert record["community_correction"]["correction_id"] == first.pk
    revoked = next(d for d in record["decisions"] if d["correction_id"] == second.pk)
    assert revoked["status"] == "revoked" and revoked["revocation"]["restored_correction_id"] == first.pk
    csv_text = client.get(f"/collections/{collection.pk}/export.csv").content.decode("utf-8-sig")
    header, row = csv_text.splitlines()[:2]
    assert "version" in header.split(",") and "changelog" in header.split(",")
    assert "v4 " in row and "revoked" in row
    collection_manifest = client.get(f"/iiif/collections/{collection.pk}/manifest.json").json()
    canvas_meta = {m["label"]["en"][0]: m["value"]["en"] for m in collection_manifest["items"][0]["metadata"]}
    assert canvas_meta["Version"] == ["4"]


def test_the_atom_feed_announces_the_revocation(two_versions, people, client, django_capture_on_commit_callbacks):
    _, second = two_versions
    revoke(second, people["moderator"], django_capture_on_commit_callbacks)
    feed = client.get("/feeds/accepted.atom").content.decode()
    assert "community version revoked" in feed
    assert f"correction-{second.pk}-revoked" in feed
    assert "The ledger shows green, not red" in feed


def test_the_community_revokes_by_the_acceptance_rule(correction, people, django_capture_on_commit_callbacks):
    accept(correction, people["moderator"], django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        revocation = revocations.revocation_propose(
            correction_id=correction.pk, proposer=people["volunteer"], reason="New photo of the tram", evidence=EVIDENCE
        )
    assert revocation.status == RevocationStatus.OPEN
    assert ModerationAction.objects.filter(action="revocation_proposed", target_id=correction.pk).exists()
    # The proposer and the author do not vote on it.
    for name in ("volunteer", "author"):
        with pytest.raises(PermissionDenied):
            revocations.revocation_vote_cast(correction_id=correction.pk, voter=people[name], value=1)
    # Volunteers alone do not make the quorum (a historian is needed), as for acceptance.
    for name in ("volunteer2", "volunteer3"):
        result = revocations.revocation_vote_cast(correction_id=correction.pk, voter=people[name], value=1)
        assert result.decided is None
    with django_capture_on_commit_callbacks(execute=True):
        result = revocations.revocation_vote_cast(correction_id=correction.pk, voter=people["historian"], value=1)
    assert result.decided == RevocationStatus.REVOKED
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.REVOKED
    revocation.refresh_from_db()
    assert revocation.decided_by is None and revocation.decision_reason.startswith("By the rule")
    assert (revocation.votes_up, revocation.historian_votes) == (3, 1)
    action = ModerationAction.objects.get(action="revoke", target_id=correction.pk)
    assert action.moderator is None and action.details["votes_for"] == 3
    # Once revoked, the request is closed.
    with pytest.raises(decisions.ReviewConflict):
        revocations.revocation_vote_cast(correction_id=correction.pk, voter=people["historian2"], value=1)


def test_the_community_can_decline_a_request_and_the_correction_stays(correction, people, settings):
    settings.CHROMA_REVIEW_MIN_VOTES = 3
    correction.status = CorrectionStatus.ACCEPTED
    Correction.objects.filter(pk=correction.pk).update(status=CorrectionStatus.ACCEPTED)
    revocations.revocation_propose(
        correction_id=correction.pk, proposer=people["volunteer"], reason="I doubt the red", evidence=EVIDENCE
    )
    for name in ("volunteer2", "volunteer3", "historian"):
        result = revocations.revocation_vote_cast(correction_id=correction.pk, voter=people[name], value=-1)
    assert result.decided == RevocationStatus.DECLINED
    assert ModerationAction.objects.filter(action="revocation_declined", target_id=correction.pk).exists()
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.ACCEPTED
    # A new request may follow new evidence.
    again = revocations.revocation_propose(
        correction_id=correction.pk, proposer=people["volunteer2"], reason="Another source", evidence=EVIDENCE
    )
    assert again.status == RevocationStatus.OPEN


def test_who_may_revoke(correction, people, django_capture_on_commit_callbacks):
    with pytest.raises(decisions.ReviewConflict):  # pending: nothing to revoke
        revocations.correction_revoke(
            correction_id=correction.pk, moderator=people["moderator"], reason="x", evidence=EVIDENCE
        )
    accept(correction, people["moderator"], django_capture_on_commit_callbacks)
    with pytest.raises(PermissionDenied):  # not a moderator: they ask instead
        revocations.correction_revoke(
            correction_id=correction.pk, moderator=people["historian"], reason="x", evidence=EVIDENCE
        )
    with pytest.raises(PermissionDenied):
        revocations.revocation_propose(
            correction_id=correction.pk, proposer=people["suspended"], reason="x", evidence=EVIDENCE
        )
    with pytest.raises(ValidationError):  # a reason is required
        revocations.correction_revoke(
            correction_id=correction.pk, moderator=people["moderator"], reason=" ", evidence=EVIDENCE
        )
    with pytest.raises(ValidationError):  # a request needs evidence
        revocations.revocation_propose(
            correction_id=correction.pk, proposer=people["volunteer"], reason="I doubt it", evidence=[]
        )
    author_mod = person("authormod", role="moderator")
    own = correction_for(correction.photo, author_mod)
    Correction.objects.filter(pk=correction.pk).update(status=CorrectionStatus.SUPERSEDED)
    Correction.objects.filter(pk=own.pk).update(status=CorrectionStatus.ACCEPTED)
    with pytest.raises(PermissionDenied):
        revocations.correction_revoke(correction_id=own.pk, moderator=author_mod, reason="mine", evidence=EVIDENCE)
    assert Profile.objects.get(user=author_mod).is_moderator


def test_the_api_revokes_proposes_and_votes(correction, people, api, django_capture_on_commit_callbacks):
    accept(correction, people["moderator"], django_capture_on_commit_callbacks)
    url = f"/api/v1/corrections/{correction.pk}/revocations/"
    assert api(people["volunteer"]).post(url, {"reason": "doubt", "evidence": []}, format="json").status_code == 400
    response = api(people["volunteer"]).post(url, {"reason": "New photo", "evidence": EVIDENCE}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "open"
    again = api(people["volunteer2"]).post(url, {"reason": "Also", "evidence": EVIDENCE}, format="json")
    assert again.status_code == 409 and "already open" in again.json()["detail"]
    vote = api(people["volunteer2"]).post(url + "votes/", {"value": 1}, format="json")
    assert vote.status_code == 201 and vote.json()["revocation"]["votes"]["up"] == 1
    assert api(people["author"]).post(url + "votes/", {"value": -1}, format="json").status_code == 403
    assert api().get(url).json()[0]["votes"]["up"] == 1
    # A moderator decides at once through the decision endpoint; the open request closes as revoked.
    decision = f"/api/v1/corrections/{correction.pk}/decision/"
    assert api(people["volunteer"]).post(decision, {"decision": "revoke", "reason": "x"}).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = api(people["moderator"]).post(
            decision, {"decision": "revoke", "reason": "Confirmed", "evidence": EVIDENCE}, format="json"
        )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "revoked"
    rows = api().get(url).json()
    assert [r["status"] for r in rows] == ["revoked"] and rows[0]["decided_by"] == "mod"
    assert Revocation.objects.filter(correction=correction).count() == 1
    late = api(people["volunteer3"]).post(url + "votes/", {"value": 1}, format="json")
    assert late.status_code == 409


def test_the_correction_page_offers_the_forms_and_posts_through_the_services(
    correction, people, client, django_capture_on_commit_callbacks
):
    accept(correction, people["moderator"], django_capture_on_commit_callbacks)
    page = correction.get_absolute_url()
    client.force_login(people["volunteer"])
    html = client.get(page).content.decode()
    assert "Ask to revoke this correction" in html
    response = client.post(
        f"/corrections/{correction.pk}/revoke/",
        {"reason": "A newer source", "evidence_text": "Ledger p. 4", "evidence_url": "https://a.example/p4"},
    )
    assert response.status_code == 302
    assert Revocation.objects.get(correction=correction).status == RevocationStatus.OPEN
    client.force_login(people["historian"])
    assert "Revoke it" in client.get(page).content.decode()
    client.post(f"/corrections/{correction.pk}/revocation-vote/", {"value": "1"})
    assert Revocation.objects.get(correction=correction).votes_up == 1
    client.force_login(people["moderator"])
    assert "Revoke as a moderator" in client.get(page).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/corrections/{correction.pk}/revoke/", {"reason": "Confirmed by the ledger"})  # no evidence
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.ACCEPTED
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/corrections/{correction.pk}/revoke/",
            {"reason": "Confirmed by the ledger", "evidence_text": "Ledger p. 4, seen at the archive"},
        )
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.REVOKED
    html = client.get(page).content.decode()
    assert "Revoked" in html and "Confirmed by the ledger" not in html.split("revocation-block")[0]
    client.logout()
    html = client.get(page).content.decode()
    assert "Revoke as a moderator" not in html and "Ask to revoke" not in html


def test_a_superseded_version_can_be_revoked_and_that_restores_nothing(
    two_versions, people, django_capture_on_commit_callbacks
):
    first, second = two_versions
    example = TrainingExample.objects.get(source=f"correction:{first.pk}")
    TrainingExample.objects.filter(pk=example.pk).update(split=Split.TRAIN)
    model = _trained_model(example, "harbour-ft", base_model(), 2)
    revocation = revoke(first, people["moderator"], django_capture_on_commit_callbacks, reason="Wrong livery")
    second.refresh_from_db()
    assert first.status == CorrectionStatus.REVOKED and second.status == CorrectionStatus.ACCEPTED
    assert revocation.status == RevocationStatus.REVOKED and revocation.restored_id is None
    example.refresh_from_db()
    assert example.revoked_at is not None and example.withdrawn_at is not None
    from colorization.finetuning import models_trained_on_revoked

    assert [e.pk for e in models_trained_on_revoked([model])[model.pk]] == [example.pk]
    from community.gallery.changelog import photo_changelogs

    changes = photo_changelogs([first.photo_id])[first.photo_id]
    assert any(c.kind == "revoked" and c.correction_id == first.pk for c in changes)
    # Revoking the community version then walks back past the revoked one: nothing to restore.
    later = revoke(second, people["moderator"], django_capture_on_commit_callbacks)
    assert later.restored_id is None


def test_revoking_walks_the_replaced_chain_back_past_revoked_and_hidden_versions(
    photo, people, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    first = accept(correction_for(photo, people["author"]), people["moderator"], capture)
    second = accept(correction_for(photo, people["volunteer3"]), people["moderator"], capture)
    third = accept(correction_for(photo, people["volunteer2"]), people["moderator"], capture)
    assert (third.replaced_id, second.replaced_id) == (second.pk, first.pk)
    revoke(second, people["moderator"], capture)  # superseded, revoked
    revocation = revoke(third, people["moderator"], capture)
    first.refresh_from_db()
    assert revocation.restored_id == first.pk and first.status == CorrectionStatus.ACCEPTED
    # A hidden version is skipped too.
    fourth = accept(correction_for(photo, people["volunteer"]), people["moderator"], capture)
    fifth = accept(correction_for(photo, people["volunteer3"]), people["moderator"], capture)
    Correction.objects.filter(pk=fourth.pk).update(hidden_at=fifth.decided_at)
    revocation = revoke(fifth, people["moderator"], capture)
    assert revocation.restored_id == first.pk


def test_a_version_that_replaced_nothing_restores_nothing_even_with_older_superseded_ones(
    photo, people, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    first = accept(correction_for(photo, people["author"]), people["moderator"], capture)
    second = accept(correction_for(photo, people["volunteer3"]), people["moderator"], capture)
    # second replaced nothing (say a moderator's data repair): no guess from dates.
    Correction.objects.filter(pk=second.pk).update(replaced=None)
    revocation = revoke(second, people["moderator"], capture)
    first.refresh_from_db()
    assert revocation.restored_id is None and first.status == CorrectionStatus.SUPERSEDED


def test_the_migration_backfills_replaced_by_replaying_the_history(photo, people, django_capture_on_commit_callbacks):
    import importlib

    from django.apps import apps

    capture = django_capture_on_commit_callbacks
    first = accept(correction_for(photo, people["author"]), people["moderator"], capture)
    second = accept(correction_for(photo, people["volunteer3"]), people["moderator"], capture)
    revoke(second, people["moderator"], capture)  # first is the community version again
    third = accept(correction_for(photo, people["volunteer2"]), people["moderator"], capture)
    expected = {first.pk: None, second.pk: first.pk, third.pk: first.pk}
    Correction.objects.filter(pk__in=expected).update(replaced=None)  # as before the link existed
    migration = importlib.import_module("community.migrations.0007_backfill_replaced")
    migration.backfill(apps, None)
    assert dict(Correction.objects.filter(pk__in=expected).values_list("pk", "replaced_id")) == expected


def test_a_revocation_during_the_training_example_task_leaves_the_example_revoked(
    correction, people, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=False):  # the worker has not added the example yet
        decisions.correction_decide(
            correction_id=correction.pk, moderator=people["moderator"], decision="accept", reason="Matches"
        )
    real_add = decisions.training_example_add
    revocation = {}

    def add_while_revoked(**kwargs):
        # The task read the correction as accepted; a moderator revokes it before the example lands,
        # so the revocation finds no example to revoke.
        revocation["row"] = revocations.correction_revoke(
            correction_id=correction.pk, moderator=people["moderator"], reason="Ledger says green", evidence=EVIDENCE
        )
        assert not TrainingExample.objects.filter(source=f"correction:{correction.pk}").exists()
        return real_add(**kwargs)

    monkeypatch.setattr(decisions, "training_example_add", add_while_revoked)
    assert decisions.correction_training_example_add(correction.pk) is False
    example = TrainingExample.objects.get(source=f"correction:{correction.pk}")
    assert example.withdrawn_at is not None and example.revoked_at is not None
    assert example.revoked_reason == "Ledger says green"
    assert example.revoked_url.endswith(revocation["row"].get_absolute_url())


def test_a_moderator_who_wrote_the_correction_is_offered_and_gets_the_request_not_the_revoke(
    photo, people, client, django_capture_on_commit_callbacks
):
    author_mod = person("authormod2", role="moderator")
    own = accept(correction_for(photo, author_mod), people["moderator"], django_capture_on_commit_callbacks)
    client.force_login(author_mod)
    html = client.get(own.get_absolute_url()).content.decode()
    assert "Revoke as a moderator" not in html and "Ask to revoke this correction" in html
    response = client.post(
        f"/corrections/{own.pk}/revoke/",
        {"reason": "I found a better source", "evidence_text": "Ledger p. 9", "evidence_url": "https://a.example/p9"},
    )
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.status == CorrectionStatus.ACCEPTED  # not revoked by its own author
    assert Revocation.objects.get(correction=own).status == RevocationStatus.OPEN  # asked, as the page offered


def test_who_may_verify_sources_is_one_rule_for_the_page_and_the_service(photo, people):
    from community.review.permissions import can_verify_sources

    correction = correction_for(photo, people["historian"])
    assert not can_verify_sources(people["historian"], correction)  # own correction
    assert can_verify_sources(people["historian2"], correction)
    assert not can_verify_sources(people["volunteer"], correction)  # not a historian
    Profile.objects.filter(user=people["historian2"]).update(suspended_at="2026-01-01T00:00:00Z")
    assert not can_verify_sources(people["historian2"], correction)


def test_revocation_evidence_is_real_sources_and_moderators_cite_it_too(
    correction, people, api, django_capture_on_commit_callbacks
):
    accept(correction, people["moderator"], django_capture_on_commit_callbacks)
    for bad in (
        [{"kind": "inferred", "hints": ["points/0"]}],
        [{**EVIDENCE[0], "hints": ["points/0"]}],
        [{**EVIDENCE[0], "kind": "inferred"}],
    ):
        with pytest.raises(ValidationError) as caught:
            revocations.revocation_propose(
                correction_id=correction.pk, proposer=people["volunteer"], reason="Doubtful", evidence=bad
            )
        assert "cite a source" in str(caught.value)
        with pytest.raises(ValidationError):
            revocations.correction_revoke(
                correction_id=correction.pk, moderator=people["moderator"], reason="Doubtful", evidence=bad
            )
    for evidence in (None, []):  # a moderator needs evidence as well as a reason
        with pytest.raises(ValidationError) as caught:
            revocations.correction_revoke(
                correction_id=correction.pk, moderator=people["moderator"], reason="Wrong", evidence=evidence
            )
        assert "Cite the new evidence" in str(caught.value)
    response = api(people["moderator"]).post(
        f"/api/v1/corrections/{correction.pk}/decision/", {"decision": "revoke", "reason": "Wrong"}, format="json"
    )
    assert response.status_code == 400 and "evidence" in response.content.decode()
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.ACCEPTED and not Revocation.objects.exists()


def test_the_registry_keeps_flagging_but_redacts_revocations_of_hidden_corrections_and_photos(
    correction, people, client, api, django_capture_on_commit_callbacks
):
    from colorization.models import Photo
    from community.review.moderation import content_hide

    accept(correction, people["moderator"], django_capture_on_commit_callbacks)
    example = TrainingExample.objects.get(source=f"correction:{correction.pk}")
    TrainingExample.objects.filter(pk=example.pk).update(split=Split.TRAIN)
    model = _trained_model(example, "any-any-v7", base_model(), 7)
    revocation = revoke(correction, people["moderator"], django_capture_on_commit_callbacks, reason="Secret ledger")
    with django_capture_on_commit_callbacks(execute=True):
        content_hide(moderator=people["moderator"], kind="correction", obj=correction, reason="Abusive note")
    flagged = api().get(f"/api/v1/models/{model.slug}/").json()["trained_on_revoked_data"]
    assert [(f["example"], f["reason"], f["url"], f["photo"], f["redacted"]) for f in flagged] == [
        (example.pk, "", "", None, True)
    ]
    page = client.get(model.get_absolute_url()).content.decode()
    assert "Trained on data since revoked" in page and "since hidden by a moderator" in page
    assert "Secret ledger" not in page and revocation.get_absolute_url() not in page
    # Shown again, the details come back; a hidden photo redacts them as well.
    with django_capture_on_commit_callbacks(execute=True):
        content_hide(moderator=people["moderator"], kind="correction", obj=correction, hidden=False)
    assert api().get(f"/api/v1/models/{model.slug}/").json()["trained_on_revoked_data"][0]["reason"] == "Secret ledger"
    Photo.objects.filter(pk=correction.photo_id).update(hidden_at=revocation.decided_at)
    assert "Secret ledger" not in client.get(model.get_absolute_url()).content.decode()
    assert api().get(f"/api/v1/models/{model.slug}/").json()["trained_on_revoked_data"][0]["redacted"] is True


def test_the_changelog_keeps_its_version_numbers_and_does_not_name_a_hidden_correction(
    two_versions, people, django_capture_on_commit_callbacks
):
    from community.gallery.changelog import photo_changelogs
    from community.review.moderation import content_hide

    first, second = two_versions
    revoke(second, people["moderator"], django_capture_on_commit_callbacks)  # restores first
    before = photo_changelogs([first.photo_id])[first.photo_id]
    assert [c.version for c in before] == [2, 3, 4]
    with django_capture_on_commit_callbacks(execute=True):
        content_hide(moderator=people["moderator"], kind="correction", obj=first, reason="Private address shown")
    after = photo_changelogs([first.photo_id])[first.photo_id]
    assert [(c.version, c.kind) for c in after] == [(c.version, c.kind) for c in before]
    assert after[0].correction_id is None and after[1].correction_id == second.pk
    for change in after:
        assert f"orrection {first.pk}" not in change.text and people["author"].username not in change.text
    assert "since hidden" in after[0].text and "since hidden" in after[2].text


def test_voters_points_for_agreeing_with_an_acceptance_are_taken_back_on_revocation(
    correction, people, settings, django_capture_on_commit_callbacks
):
    settings.CHROMA_REPUTATION_VOTE_AGREED = 2
    with django_capture_on_commit_callbacks(execute=True):
        for voter in ("volunteer", "volunteer3", "historian"):
            decisions.vote_cast(correction_id=correction.pk, voter=people[voter], value=1)
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.ACCEPTED
    before = {v: Profile.objects.get(user=people[v]).reputation for v in ("volunteer", "volunteer3", "historian")}
    agreed = ReputationEvent.objects.filter(correction=correction, reason="vote_agreed")
    assert agreed.count() == 3 and {e.points for e in agreed} == {2}
    revoke(correction, people["moderator"], django_capture_on_commit_callbacks)
    for voter, reputation in before.items():
        assert Profile.objects.get(user=people[voter]).reputation == reputation - 2
        events = ReputationEvent.objects.filter(user=people[voter], correction=correction)
        assert sum(e.points for e in events) == 0
        assert events.get(reason="correction_revoked").note.startswith("voted for correction")
    author_events = ReputationEvent.objects.filter(user=correction.author, correction=correction)
    assert sum(e.points for e in author_events) == 0


def test_the_feed_and_exports_stop_naming_a_restored_correction_once_it_is_hidden(
    two_versions, people, client, django_capture_on_commit_callbacks
):
    from community.gallery.collections import collection_create, collection_photo_add
    from community.review.moderation import content_hide

    first, second = two_versions
    revoke(second, people["moderator"], django_capture_on_commit_callbacks)
    collection = collection_create(owner=people["author"], title="Trams", description="", is_public=True)
    collection_photo_add(collection=collection, curator=people["author"], photo=first.photo)

    def exported_restored_id():
        record = client.get(f"/collections/{collection.pk}/export.json").json()["photos"][0]
        revoked = next(d for d in record["decisions"] if d["correction_id"] == second.pk)
        return revoked["revocation"]["restored_correction_id"]

    assert (
        f"Correction {first.pk} is the community version again" in client.get("/feeds/accepted.atom").content.decode()
    )
    assert exported_restored_id() == first.pk
    with django_capture_on_commit_callbacks(execute=True):
        content_hide(moderator=people["moderator"], kind="correction", obj=first, reason="Spam")
    feed = client.get("/feeds/accepted.atom").content.decode()
    assert f"correction-{second.pk}-revoked" in feed
    assert f"Correction {first.pk} " not in feed and "since hidden by a moderator" in feed
    assert exported_restored_id() is None
