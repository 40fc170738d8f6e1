"""Fixtures for the community tests: a fast password hasher, people in every role, corrections."""

from __future__ import annotations

import io
import itertools

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from community.accounts.services import role_set
from community.models import Correction, CorrectionKind, Profile
from tests import images
from tests.factories import UserFactory

_counter = itertools.count()


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """PBKDF2 at full strength costs ~0.3 s per user; tests create many."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def community_tasks_run_here(monkeypatch):
    """Services queue the training example and e-mails for a worker; here the "worker" runs them at once."""
    from community.tasks import add_training_example, send_notification_email

    for task in (add_training_example, send_notification_email):
        monkeypatch.setattr(task, "delay", lambda *args, task=task: task.apply(args=args))


@pytest.fixture
def quiet_broker(monkeypatch):
    """Drafts queued by uploads are not sent anywhere (tests render them by hand when they need to)."""
    from colorization.tasks import colorize_draft

    monkeypatch.setattr(colorize_draft, "apply_async", lambda *a, **k: None)


@pytest.fixture
def draft(owner, make_photo, quiet_broker, tiny_base_model):
    """A finished draft of a small photo, rendered in this process by the worker's task."""
    from colorization.models import DraftStatus
    from colorization.tasks import colorize_draft

    photo = make_photo(owner, data=images.jpeg(96, 64, seed=8), title="Tram on Main Street")
    draft = photo.drafts.get()
    colorize_draft.apply(args=[draft.pk])
    draft.refresh_from_db()
    assert draft.status == DraftStatus.DONE
    return draft


def person(username: str, role: str = "volunteer", reputation: int = 0, suspended: bool = False):
    user = UserFactory(username=username)
    role_set(user=user, role=role)
    Profile.objects.filter(user=user).update(reputation=reputation, suspended_at=timezone.now() if suspended else None)
    return user


@pytest.fixture
def people(db, settings):
    """One of each: author, trusted volunteers, a new account, historians, a moderator, a suspended user."""
    trusted = settings.CHROMA_VOTE_TRUSTED_REPUTATION
    return {
        "author": person("author", reputation=trusted),
        "volunteer": person("volunteer", reputation=trusted),
        "volunteer2": person("volunteer2", reputation=trusted),
        "volunteer3": person("volunteer3", reputation=trusted),
        "newcomer": person("newcomer", reputation=0),
        "historian": person("historian", role="historian"),
        "historian2": person("historian2", role="historian"),
        "moderator": person("mod", role="moderator", reputation=trusted),
        "suspended": person("suspended", reputation=trusted, suspended=True),
    }


def colour_png(width: int = 64, height: int = 48, seed: int = 0) -> bytes:
    out = io.BytesIO()
    images.colour_photo(width, height, seed).save(out, "PNG")
    return out.getvalue()


def correction_for(photo, author, *, data: bytes | None = None, **fields) -> Correction:
    """A rendered manual correction, stored without the luminance check (review tests need only its image)."""
    n = next(_counter)
    key = default_storage.save(f"corrections/{photo.pk}/test-{n}.png", ContentFile(data or colour_png(seed=n)))
    fields.setdefault("is_gold", hasattr(photo, "gold_standard"))
    return Correction.objects.create(
        photo=photo, author=author, kind=CorrectionKind.MANUAL, image=key, thumbnail=key, **fields
    )


@pytest.fixture
def photo(people, make_photo, quiet_broker, tiny_base_model):
    return make_photo(people["author"], title="Tram on Main Street")


@pytest.fixture
def correction(photo, people):
    return correction_for(photo, people["author"])
