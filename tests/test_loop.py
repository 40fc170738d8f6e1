"""The product's loop end to end, through each app's own services (DESIGN.md "The loop"):

upload -> draft -> a volunteer's correction -> votes with a historian -> accepted (community
version) -> training example -> fine-tuning run for the bucket -> promoted model -> a new upload in
that bucket is routed to it, and the gallery and photo page show the community version.
A tiny model and small synthetic photos keep it fast; the gate is opened so the tiny model's
promotion does not depend on luck (the gate itself is tested in tests/colorization/test_registry.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from colorization import finetuning
from colorization.models import ColorModel, DraftPurpose, ModelStatus, Split, TrainingExample
from colorization.tasks import colorize_draft
from colorization.training_data import split_for
from community.accounts.services import role_set
from community.models import CorrectionStatus
from community.review.corrections import correction_create_manual
from community.review.decisions import vote_cast
from community.tasks import add_training_example
from tests import images
from tests.conftest import upload_file
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def loop_settings(settings, tmp_path, tiny_base_model, monkeypatch):
    settings.CHROMA_MODEL_DIR = str(tmp_path / "models")
    settings.CHROMA_VOTE_TRUSTED_REPUTATION = 0  # fresh test accounts vote with full weight
    # Drafts are rendered here, in the test, not sent to a broker.
    monkeypatch.setattr(colorize_draft, "apply_async", lambda *a, **k: None)
    # Accepting queues the training example for a worker after the commit; here it runs at once.
    monkeypatch.setattr(add_training_example, "delay", lambda pk: add_training_example.apply(args=[pk]))
    schedule = finetuning.FinetuneSchedule.get()
    schedule.min_examples, schedule.min_new_examples = 3, 2
    schedule.steps, schedule.minutes, schedule.batch_size, schedule.crop = 3, 1.0, 2, 32
    schedule.margin_db, schedule.noise_db, schedule.colourfulness_tolerance = -100.0, 100.0, 100.0
    schedule.save()
    return schedule


def rendered(photo):
    draft = photo.drafts.get(purpose=DraftPurpose.DRAFT)
    colorize_draft.apply(args=[draft.pk])
    draft.refresh_from_db()
    return draft


def test_accepted_corrections_train_a_model_that_new_uploads_in_their_bucket_use(
    loop_settings, owner, make_photo, client, django_capture_on_commit_callbacks
):
    volunteer, voter = UserFactory(username="volunteer"), UserFactory(username="voter")
    historian = UserFactory(username="historian")
    role_set(user=historian, role="historian")

    # Photos of one bucket (street, 1910s) until both splits are represented.
    accepted = []
    seed = 0
    while len(accepted) < 4 or not {split_for(c.photo) for c in accepted} >= {Split.TRAIN, Split.HOLDOUT}:
        seed += 1
        colour = images.colour_photo(64, 48, seed=seed)
        photo = make_photo(
            owner, data=images.encode(images.luminance_of(colour), "PNG"), genre="street", year_from=1912, year_to=1912
        )
        draft = rendered(photo)
        assert draft.status == "done" and draft.model_slug == "base"
        correction = correction_create_manual(
            author=volunteer,
            photo=photo,
            file=upload_file(images.encode(colour, "PNG"), "colour.png", "image/png"),
            base_draft=draft,
            note="Colours from a hand-tinted postcard of the same street",
            evidence=[{"text": "Postcard, 1912", "url": "https://example.org/postcard"}],
        )
        with django_capture_on_commit_callbacks(execute=True):
            vote_cast(correction_id=correction.pk, voter=voter, value=1)
            vote_cast(correction_id=correction.pk, voter=owner, value=1)
            result = vote_cast(correction_id=correction.pk, voter=historian, value=1, comment="Plausible for 1912")
        correction.refresh_from_db()
        assert correction.status == CorrectionStatus.ACCEPTED, result
        accepted.append(correction)
        assert seed < 60

    # Each accepted correction is now exactly one training example of its photo, credited to its author.
    examples = TrainingExample.objects.active()
    assert sorted(e.source for e in examples) == sorted(f"correction:{c.pk}" for c in accepted)
    assert {(e.genre, e.era_bucket, e.contributor) for e in examples} == {("street", "1900-1919", volunteer)}

    # The photo page and the gallery show the community version.
    page = client.get(accepted[0].photo.get_absolute_url()).content.decode()
    assert "community version" in page.lower()
    assert f"/photos/{accepted[0].photo_id}/" in client.get("/gallery/?genre=street&decade=1910").content.decode()

    # Beat finds the bucket; the run fine-tunes, evaluates on the holdout and promotes.
    due = {(s.genre, s.era) for s in finetuning.buckets_overview() if s.due}
    assert ("street", "1900-1919") in due
    run = finetuning.training_run_now("street", "1900-1919", log=lambda s: None)
    assert run.status == "succeeded", run.error
    model = ColorModel.objects.get(pk=run.candidate_id)
    assert model.status == ModelStatus.ACTIVE and (model.genre, model.era) == ("street", "1900-1919")
    assert {"psnr_0", "psnr_10", "psnr_50"} <= set(run.metrics["deltas"])  # parent and candidate both evaluated

    # A new upload in the bucket is drafted by the promoted model; another bucket still by the base.
    same = rendered(make_photo(owner, data=images.jpeg(64, 48, seed=900), genre="street", year_from=1915))
    other = rendered(make_photo(owner, data=images.jpeg(64, 48, seed=901), genre="portrait", year_from=1950))
    assert (same.model_slug, same.model_sha256) == (model.slug, model.sha256)
    assert other.model_slug == "base"
    assert same.status == other.status == "done"
    # ... and credits the volunteer whose corrections it learned from.
    assert volunteer.username in client.get(f"/models/{model.slug}/").content.decode()


def test_a_rejected_correction_never_becomes_training_data(
    loop_settings, owner, make_photo, django_capture_on_commit_callbacks
):
    voter, other_voter, historian = (UserFactory(username=n) for n in ("v1", "v2", "h1"))
    role_set(user=historian, role="historian")
    colour = images.colour_photo(64, 48, seed=5)
    photo = make_photo(owner, data=images.encode(images.luminance_of(colour), "PNG"), genre="street", year_from=1912)
    draft = rendered(photo)
    correction = correction_create_manual(
        author=UserFactory(username="author"),
        photo=photo,
        base_draft=draft,
        file=upload_file(images.encode(colour, "PNG"), "colour.png", "image/png"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        for user in (voter, other_voter, historian):
            vote_cast(correction_id=correction.pk, voter=user, value=-1)
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.REJECTED
    assert not TrainingExample.objects.exists()


def test_a_global_colour_hint_travels_from_a_correction_to_a_training_example_and_into_fine_tuning(
    loop_settings, settings, tmp_path, owner, make_photo, django_capture_on_commit_callbacks
):
    import torch

    from colorization import model_registry
    from colorization.engine.checkpoint import load_state_dict, save_checkpoint
    from colorization.engine.global_hints import palette_document
    from colorization.engine.network import ColorNet, NetworkConfig
    from community.review.corrections import correction_create

    # A base model with the global-hint branch (at zero, as a freshly grown one).
    torch.manual_seed(1)
    base = tmp_path / "tiny-global.safetensors"
    save_checkpoint(ColorNet(NetworkConfig(widths=(8, 8, 8, 8), global_hints=True)), base, {"slug": "base"})
    settings.CHROMA_BASE_MODEL_PATH = str(base)
    volunteer, voter = UserFactory(username="volunteer"), UserFactory(username="voter")
    historian = UserFactory(username="historian")
    role_set(user=historian, role="historian")

    accepted = []
    seed = 100
    while len(accepted) < 4 or not {split_for(c.photo) for c in accepted} >= {Split.TRAIN, Split.HOLDOUT}:
        seed += 1
        colour = images.colour_photo(64, 48, seed=seed)
        photo = make_photo(
            owner, data=images.encode(images.luminance_of(colour), "PNG"), genre="street", year_from=1912, year_to=1912
        )
        draft = rendered(photo)
        member = {"palette": palette_document(np.asarray(colour), colours=5), "source": {"kind": "reference"}}
        correction = correction_create(
            author=volunteer, photo=photo, base_draft=draft, hints={"global": member}, note="Plate colours"
        )
        colorize_draft.apply(args=[correction.render_id])
        with django_capture_on_commit_callbacks(execute=True):
            for person in (voter, owner, historian):
                vote_cast(correction_id=correction.pk, voter=person, value=1)
        correction.refresh_from_db()
        assert correction.status == CorrectionStatus.ACCEPTED
        accepted.append(correction)
        assert seed < 160

    # The examples keep the global hint their colours were made with.
    for correction in accepted:
        example = TrainingExample.objects.get(source=f"correction:{correction.pk}")
        assert example.global_hint == correction.hints["global"]

    # Fine-tuning a parent with the branch trains it with global hints simulated from the truth.
    run = finetuning.training_run_now("street", "1900-1919", log=lambda s: None)
    assert run.status == "succeeded", run.error
    model = ColorModel.objects.get(pk=run.candidate_id)
    state, config, _ = load_state_dict(model_registry.verified_path(model))
    assert config.global_hints
    assert state["global_hint_mlp.4.weight"].abs().sum() > 0  # the zero-initialised branch learnt
