"""Training examples: idempotent per source, one active per photo, a deterministic split by photo."""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from colorization.eras import era_bucket, parse_era_buckets
from colorization.models import Split, TrainingExample
from colorization.training_data import split_for, training_example_add, training_example_withdraw
from tests import images

pytestmark = pytest.mark.django_db


def colour_png(width=640, height=400, seed=1) -> io.BytesIO:
    return io.BytesIO(images.encode(images.colour_photo(width, height, seed=seed), "PNG"))


def test_an_example_is_stored_small_with_the_photos_bucket(owner, make_photo, settings):
    settings.CHROMA_TRAINING_EXAMPLE_SIDE = 128
    photo = make_photo(owner, genre="street", year_from=1911, year_to=1911)
    example = training_example_add(photo=photo, image=colour_png(), source="correction:1", contributor=owner)
    assert (example.genre, example.era_bucket, example.contributor) == ("street", "1900-1919", owner)
    assert example.split in {Split.TRAIN, Split.HOLDOUT}
    with default_storage.open(example.image.name, "rb") as f:
        im = Image.open(f)
        assert im.format == "PNG" and im.size == (128, 80) == (example.width, example.height)


def test_adding_the_same_source_twice_is_a_no_op(owner, make_photo):
    photo = make_photo(owner)
    first = training_example_add(photo=photo, image=colour_png(), source="correction:7")
    second = training_example_add(photo=photo, image=colour_png(seed=2), source="correction:7")
    assert first.pk == second.pk
    assert TrainingExample.objects.count() == 1


def test_a_newer_example_of_a_photo_withdraws_the_older_one(owner, make_photo):
    photo = make_photo(owner)
    old = training_example_add(photo=photo, image=colour_png(), source="correction:1")
    new = training_example_add(photo=photo, image=colour_png(seed=2), source="correction:2")
    old.refresh_from_db()
    assert old.withdrawn_at is not None and "correction:2" in old.withdrawn_reason
    assert list(TrainingExample.objects.active()) == [new]


def test_withdraw_and_restore(owner, make_photo):
    photo = make_photo(owner)
    example = training_example_add(photo=photo, image=colour_png(), source="correction:3")
    assert training_example_withdraw(source="correction:3", reason="decision reversed") == 1
    assert training_example_withdraw(source="correction:3", reason="again") == 0
    assert not TrainingExample.objects.active().exists()
    again = training_example_add(photo=photo, image=colour_png(), source="correction:3")
    assert again.pk == example.pk and again.withdrawn_at is None


def test_the_split_is_by_photo_deterministic_and_about_80_20(owner, make_photo, settings):
    photos = [make_photo(owner, data=images.encode(images.colour_photo(32, 32, seed=s), "PNG")) for s in range(60)]
    splits = [split_for(p) for p in photos]
    assert splits == [split_for(p) for p in photos]
    assert 4 <= splits.count(Split.HOLDOUT) <= 24  # 20 % of 60 = 12, binomial sd ≈ 3
    settings.CHROMA_HOLDOUT_PERCENT = 0
    assert {split_for(p) for p in photos} == {Split.TRAIN}


@pytest.mark.parametrize(
    ("years", "bucket"),
    [
        ((1911, 1911), "1900-1919"),
        ((1890, 1930), "1900-1919"),
        ((None, 1850), "-1899"),
        ((2005, None), "2000-"),
        ((None, None), None),
        ((1920, 1920), "1920-1939"),
    ],
)
def test_era_buckets(years, bucket):
    spec = parse_era_buckets(["-1899", "1900-1919", "1920-1939", "2000-"])
    assert era_bucket(*years, spec) == bucket
