"""Community models end to end with a tiny model and small synthetic photos: bucket selection,
training, evaluation, promotion, rejection, rollback, the lock, routing, sha256 checks, crashes."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.utils import timezone

from colorization import finetuning, model_registry
from colorization.cron import CrontabError, fired_between, parse_crontab
from colorization.drafting import draft_request
from colorization.engine.checkpoint import load_state_dict, model_sha256
from colorization.model_cache import model_cache
from colorization.model_registry import UnknownModel, resolve_model, route_model
from colorization.models import (
    ColorModel,
    FinetuneSchedule,
    ModelStatus,
    RunStatus,
    Split,
    TrainingExample,
    TrainingRun,
)
from colorization.training_data import training_example_add
from tests import images

pytestmark = pytest.mark.django_db


@pytest.fixture
def model_dir(settings, tmp_path, tiny_base_model):
    """The legacy model folder (models registered before storage held them); new models never go there."""
    settings.CHROMA_MODEL_DIR = str(tmp_path / "models")
    return Path(settings.CHROMA_MODEL_DIR)


def stored(model) -> Path:
    """The model's object in storage (local storage in these tests: a file under MEDIA_ROOT)."""
    from django.conf import settings

    return Path(settings.MEDIA_ROOT) / model.weights


def no_staging_left(run_id: int) -> bool:
    from django.conf import settings

    return not finetuning.staging_dir(run_id).exists() and not any(
        (Path(settings.MEDIA_ROOT) / "models" / "staging" / f"run-{run_id}").glob("*")
    )


@pytest.fixture
def schedule(db):
    s = FinetuneSchedule.get()
    s.min_examples, s.min_new_examples = 3, 2
    s.steps, s.minutes, s.batch_size, s.crop = 3, 1.0, 2, 32
    s.margin_db, s.noise_db, s.colourfulness_tolerance = -100.0, 100.0, 100.0  # the gate always passes
    s.save()
    return s


@pytest.fixture
def add_examples(owner, make_photo):
    """``add(n, genre=..., year=...)`` -> examples: at least n for training and one held out."""
    counter = iter(range(10_000))

    def add(n, genre="street", year=1911, contributor=None):
        made = []
        while sum(e.split == Split.TRAIN for e in made) < n or not any(e.split == Split.HOLDOUT for e in made):
            i = next(counter)
            photo = make_photo(owner, genre=genre, year_from=year, year_to=year, data=images.jpeg(64, 48, seed=500 + i))
            colour = io.BytesIO(images.encode(images.colour_photo(64, 48, seed=i), "PNG"))
            made.append(
                training_example_add(
                    photo=photo, image=colour, source=f"test:{genre}:{year}:{i}", contributor=contributor or owner
                )
            )
        return made

    return add


def run_now(genre="", era="1900-1919"):
    return finetuning.training_run_now(genre, era, log=lambda s: None)


# -- bucket selection ---------------------------------------------------------------------------


def test_buckets_are_genre_by_era_era_alone_and_genre_alone_with_thresholds(add_examples, schedule, model_dir):
    add_examples(4, genre="street", year=1911)
    add_examples(2, genre="portrait", year=1912)
    add_examples(2, genre="unknown", year=1950)
    states = {s.key: s for s in finetuning.buckets_overview(schedule)}
    assert set(states) == {
        "street:1900-1919",
        "portrait:1900-1919",
        "any:1900-1919",
        "street:any",
        "portrait:any",
        "any:1940-1959",
    }
    street = states["street:1900-1919"]
    assert street.train >= 4 and street.holdout >= 1 and street.due
    assert not states["portrait:1900-1919"].due and "needs 3" in states["portrait:1900-1919"].reason
    assert states["any:1900-1919"].train == states["street:1900-1919"].train + states["portrait:1900-1919"].train
    # "unknown" genre examples count towards their era only
    assert not any(k.startswith("unknown") for k in states)


def test_k_new_examples_are_needed_after_a_run(add_examples, schedule, model_dir):
    add_examples(4)
    run = run_now("street", "1900-1919")
    assert run.status == RunStatus.SUCCEEDED
    state = finetuning.bucket_state("street", "1900-1919", schedule)
    assert not state.due and "new since the last run" in state.reason
    add_examples(1)
    assert not finetuning.bucket_state("street", "1900-1919", schedule).due
    add_examples(1)
    assert finetuning.bucket_state("street", "1900-1919", schedule).due


def test_finetune_due_enqueues_one_run_per_due_bucket_on_the_training_queue(
    add_examples, schedule, model_dir, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr("colorization.tasks.run_training.apply_async", lambda args, queue: sent.append((args, queue)))
    add_examples(4)
    with django_capture_on_commit_callbacks(execute=True):
        runs = finetuning.finetune_due()
    keys = sorted(f"{r.genre or 'any'}:{r.era or 'any'}" for r in runs)
    assert keys == ["any:1900-1919", "street:1900-1919", "street:any"]
    assert sorted(queue for _, queue in sent) == ["training"] * 3
    assert {args[0] for args, _ in sent} == {r.pk for r in runs}
    with django_capture_on_commit_callbacks(execute=True):
        assert finetuning.finetune_due() == []  # all three are pending now


# -- training, evaluation, promotion ------------------------------------------------------------


def test_a_run_trains_evaluates_and_promotes_with_everything_recorded(add_examples, schedule, model_dir, other_user):
    examples = add_examples(4, contributor=other_user)
    run = run_now()
    assert run.status == RunStatus.SUCCEEDED, run.error
    model = run.candidate
    assert model.slug == "any-1900-1919-v1" and model.status == ModelStatus.ACTIVE and model.promoted_at
    assert model.parent == model_registry.base_model() and [m.slug for m in model.lineage()] == [model.slug, "base"]
    assert model.weights == f"models/sha256/{model.sha256}.safetensors"  # stored under its sha256
    path = stored(model)
    assert path.is_file() and model.sha256 == model_sha256(path) and model.size_bytes == path.stat().st_size
    assert no_staging_left(run.pk) and not list(model_dir.glob("*"))
    assert run.steps == 3 and run.loss_curve and run.loss_curve[-1][0] == 3
    assert set(run.metrics["parent"]["hints"]) == {"0", "10", "50"}
    for key in ("psnr", "colourfulness_ratio"):
        assert key in run.metrics["candidate"]["hints"]["0"]
    assert set(model.metrics["deltas"]) == {"psnr_0", "psnr_10", "psnr_50", "colourfulness_0"}
    assert run.train_count + run.holdout_count == len(examples)
    assert set(run.examples.all()) == set(examples)
    assert finetuning.contributors(model) == [{"username": "other", "examples": run.train_count}]
    assert model.samples and all(s["parent"] and s["candidate"] for s in model.samples)
    assert run.train_seconds is not None and run.eval_seconds is not None and run.wall_seconds is not None


def test_a_run_trains_with_the_schedules_losses_and_the_weights_say_so(add_examples, schedule, model_dir):
    schedule.regression_loss, schedule.ce_weight = "smooth_l1", 0.5
    schedule.save()
    add_examples(4)
    run = run_now()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (run.config["regression_loss"], run.config["ce_weight"]) == ("smooth_l1", 0.5)
    _, _, meta = load_state_dict(model_registry.verified_path(run.candidate))
    train_config = json.loads(meta["summary"])["train_config"]
    assert (train_config["regression_loss"], train_config["ce_weight"]) == ("smooth_l1", 0.5)
    assert (FinetuneSchedule().regression_loss, FinetuneSchedule().ce_weight) == ("log_mse", 0.25)  # the defaults


@pytest.mark.parametrize(
    ("setting", "native_bf16", "used"),
    [("bf16", False, "bf16"), ("fp32", True, "fp32"), ("auto", True, "bf16"), ("auto", False, "fp32")],
)
def test_a_run_trains_in_the_schedules_precision_and_records_it(
    add_examples, schedule, model_dir, monkeypatch, setting, native_bf16, used
):
    from colorization.engine import precision

    monkeypatch.delenv("COLORIZE_PRECISION", raising=False)
    monkeypatch.setenv("COLORIZE_DEVICE", "cpu")
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native_bf16)
    schedule.precision = setting
    schedule.save()
    add_examples(4)
    run = run_now()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.config["precision"] == setting and run.device == f"cpu ({used})"
    _, _, meta = load_state_dict(model_registry.verified_path(run.candidate))
    assert json.loads(meta["summary"])["precision"] == used
    assert FinetuneSchedule().precision == "auto"


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_schedules_at_the_old_defaults_and_keeps_chosen_values():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("colorization", "0008_finetune_precision")]
    after = [("colorization", "0009_finetune_log_mse_default_and_step_cap")]
    try:
        for old_values, expected in [
            ({"steps": 6000, "regression_loss": "mse"}, (12000, "log_mse")),
            ({"steps": 2500, "regression_loss": "smooth_l1"}, (2500, "smooth_l1")),
        ]:
            executor = MigrationExecutor(connection)
            executor.migrate(before)
            old = executor.loader.project_state(before).apps.get_model("colorization", "FinetuneSchedule")
            old.objects.all().delete()
            old.objects.create(**old_values)
            executor = MigrationExecutor(connection)
            executor.migrate(after)
            new = executor.loader.project_state(after).apps.get_model("colorization", "FinetuneSchedule")
            assert list(new.objects.values_list("steps", "regression_loss")) == [expected]
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_several_fine_tunes_are_averaged_into_one_candidate(add_examples, schedule, model_dir):
    schedule.members, schedule.steps = 3, 5
    schedule.save()
    add_examples(4)
    run = run_now()
    assert run.status == RunStatus.SUCCEEDED, run.error
    _, _, meta = load_state_dict(model_registry.verified_path(run.candidate))
    summary = json.loads(meta["summary"])
    assert meta["members"] == "3" and [m["steps"] for m in summary["members"]] == [2, 2, 1]
    assert run.steps == 5 and summary["steps"] == 5
    steps = [point[0] for point in run.loss_curve]
    assert steps == sorted(steps) and steps[-1] == 5  # the members' curves laid end to end
    assert "member" not in meta and meta["slug"] == run.candidate.slug


def test_a_candidate_that_does_not_beat_its_parent_is_kept_as_rejected(add_examples, schedule, model_dir):
    schedule.margin_db = 50.0
    schedule.save()
    add_examples(4)
    run = run_now()
    assert run.status == RunStatus.REJECTED
    assert run.candidate.status == ModelStatus.REJECTED
    assert "needs +50.00 dB" in run.decision and run.candidate.metrics["deltas"]["psnr_0"] < 50
    assert model_registry.route("", "1900-1919").slug == "base"


def test_a_run_queued_before_a_setting_existed_reads_it_with_its_default():
    stored = finetuning._run_config(FinetuneSchedule.get())
    for key in ("regression_loss", "ce_weight", "precision", "members"):
        del stored[key]
    config = finetuning.FinetuneConfig.from_run({**stored, "crop": "32", "no_longer_a_setting": 1})
    assert (config.regression_loss, config.ce_weight, config.precision, config.members) == ("smooth_l1", 1.0, "fp32", 1)
    assert config.crop == 32 and config.device == ""


def test_the_gate_needs_the_margin_at_0_hints_and_no_loss_beyond_noise_elsewhere():
    config = finetuning.FinetuneConfig.from_run(
        {
            **finetuning._run_config(FinetuneSchedule.get()),
            "hints": [0, 10, 50],
            "margin_db": 0.2,
            "noise_db": 0.05,
            "colourfulness_tolerance": 0.05,
        }
    )

    def result(p0, p10, p50, colour):
        return {
            "hints": {
                "0": {"psnr": p0, "colourfulness_ratio": colour},
                "10": {"psnr": p10, "colourfulness_ratio": colour},
                "50": {"psnr": p50, "colourfulness_ratio": colour},
            }
        }

    parent = result(22.0, 25.0, 28.0, 0.6)
    assert finetuning.gate(parent, result(22.3, 25.0, 27.96, 0.58), config)[0]
    ok, text, deltas = finetuning.gate(parent, result(22.1, 25.2, 28.1, 0.6), config)
    assert not ok and "at 0 hints it gains +0.10 dB" in text and deltas["psnr_0"] == pytest.approx(0.1)
    assert not finetuning.gate(parent, result(23.0, 24.9, 28.0, 0.6), config)[0]
    assert not finetuning.gate(parent, result(23.0, 25.0, 27.9, 0.6), config)[0]
    ok, text, _ = finetuning.gate(parent, result(23.0, 25.0, 28.0, 0.5), config)
    assert not ok and "colourfulness" in text


def test_a_bucket_with_a_model_fine_tunes_that_model_and_its_first_run_the_routing_parent(
    add_examples, schedule, model_dir
):
    add_examples(4)
    era_model = run_now().candidate
    first_street = run_now("street", "1900-1919")
    assert first_street.parent == era_model  # (any, era) is street:1900-1919's routing parent
    add_examples(3)
    second_street = run_now("street", "1900-1919")
    assert second_street.parent == first_street.candidate
    assert second_street.candidate.slug == "street-1900-1919-v2"


# -- routing ------------------------------------------------------------------------------------


def test_routing_after_promotion_genre_era_then_era_then_genre_then_base(
    add_examples, schedule, model_dir, owner, make_photo
):
    street_1911 = make_photo(owner, genre="street", year_from=1911, year_to=1911)
    portrait_1911 = make_photo(owner, genre="portrait", year_from=1911, year_to=1911)
    street_1950 = make_photo(owner, genre="street", year_from=1950, year_to=1950)
    undated = make_photo(owner)
    assert route_model(street_1911).slug == "base"
    add_examples(4)
    era = run_now().candidate
    genre_only = run_now("street", "").candidate
    both = run_now("street", "1900-1919").candidate
    assert route_model(street_1911).slug == both.slug
    assert route_model(portrait_1911).slug == era.slug
    assert route_model(street_1950).slug == genre_only.slug
    assert route_model(undated).slug == "base"
    draft = draft_request(photo=street_1911)
    assert (draft.model_slug, draft.model_version, draft.model_sha256) == (both.slug, "1", both.sha256)


def test_registered_slugs_and_bucket_aliases_resolve_and_base_needs_no_registry(
    add_examples, schedule, model_dir, settings
):
    add_examples(4)
    model = run_now().candidate
    cached = model_cache().path_for(model.sha256)  # this host's verified copy
    assert resolve_model(model.slug) == cached
    assert resolve_model("any-1900-1919") == cached  # the bucket's active model
    assert resolve_model("base") == Path(settings.CHROMA_BASE_MODEL_PATH)
    with pytest.raises(UnknownModel, match="no model with the slug 'nope'"):
        resolve_model("nope")


def test_colorize_command_accepts_a_registered_slug(add_examples, schedule, model_dir, tmp_path):
    add_examples(4)
    model = run_now().candidate
    src = tmp_path / "in.png"
    src.write_bytes(images.png(64, 48))
    out = tmp_path / "out.png"
    call_command("colorize", str(src), str(out), "--model", model.slug)
    from colorization.engine.imageio import read_disclosure

    assert out.is_file() and model.slug in str(read_disclosure(out))


def test_the_base_row_follows_a_newly_shipped_base_file(settings, tmp_path, tiny_base_model):
    import torch

    from colorization.engine.checkpoint import save_checkpoint, sha256_of
    from colorization.engine.network import ColorNet, NetworkConfig

    first = model_registry.base_model()
    torch.manual_seed(5)
    shipped = tmp_path / "new-base.safetensors"
    save_checkpoint(ColorNet(NetworkConfig(widths=(8, 8, 8, 8))), shipped, {"slug": "base", "version": "2"})
    settings.CHROMA_BASE_MODEL_PATH = str(shipped)
    row = model_registry.base_model()
    assert row.pk == first.pk and (row.version, row.sha256) == (2, sha256_of(shipped))
    assert ColorModel.objects.get(pk=row.pk).version == 2
    assert model_registry.verified_path(row) == shipped


def test_a_stored_model_whose_sha256_differs_is_refused(add_examples, schedule, model_dir, owner, make_photo):
    add_examples(4)
    model = run_now().candidate
    path = stored(model)
    path.write_bytes(path.read_bytes() + b"tampered")
    model_cache().path_for(model.sha256).unlink()  # a host that has not fetched it yet
    with pytest.raises(model_registry.ModelFileMismatch, match="does not hash to its recorded sha256"):
        resolve_model(model.slug)
    with pytest.raises(CommandError):
        call_command("colorize", "in.png", "out.png", "--model", model.slug)
    assert not model_cache().holds(model.sha256)  # nothing unverified is kept


def test_a_model_missing_from_storage_makes_drafts_fall_back_to_base(
    add_examples, schedule, model_dir, owner, make_photo
):
    add_examples(4)
    model = run_now().candidate
    stored(model).unlink()
    model_cache().path_for(model.sha256).unlink()
    photo = make_photo(owner, genre="street", year_from=1910, year_to=1910)
    assert route_model(photo).slug == "base"
    with pytest.raises(model_registry.ModelFileMismatch, match="not in storage"):
        resolve_model(model.slug)


# -- rollback -----------------------------------------------------------------------------------


def test_rollback_restores_the_previous_model_by_command_and_then_the_parent_bucket(add_examples, schedule, model_dir):
    add_examples(4)
    v1 = run_now().candidate
    add_examples(3)
    v2 = run_now().candidate
    v1.refresh_from_db()
    assert (v1.status, v2.status) == (ModelStatus.RETIRED, ModelStatus.ACTIVE)
    out = io.StringIO()
    call_command("finetune", "--rollback", "any:1900-1919", stdout=out)
    assert "Retired any-1900-1919-v2" in out.getvalue()
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.status, v2.status) == (ModelStatus.ACTIVE, ModelStatus.RETIRED)
    assert model_registry.route("", "1900-1919") == v1
    model_registry.model_rollback("", "1900-1919")
    assert model_registry.route("", "1900-1919").slug == "base"
    with pytest.raises(CommandError, match="no active community model"):
        call_command("finetune", "--rollback", "any:1900-1919")


def test_admin_rollback_action(add_examples, schedule, model_dir, client, django_user_model):
    add_examples(4)
    model = run_now().candidate
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(admin)
    response = client.post(
        "/admin/colorization/colormodel/", {"action": "roll_back", "_selected_action": [model.pk]}, follow=True
    )
    assert response.status_code == 200
    model.refresh_from_db()
    assert model.status == ModelStatus.RETIRED


def test_only_one_active_model_per_bucket_is_a_database_constraint(add_examples, schedule, model_dir):
    add_examples(4)
    model = run_now().candidate
    with pytest.raises(IntegrityError), transaction.atomic():
        ColorModel.objects.create(
            slug="any-1900-1919-v9", version=9, era="1900-1919", sha256="0" * 64, status=ModelStatus.ACTIVE
        )
    assert ColorModel.objects.get(status=ModelStatus.ACTIVE, era="1900-1919") == model


# -- the lock, crashes, retries -----------------------------------------------------------------


def test_two_runs_of_one_bucket_never_run_at_once(add_examples, schedule, model_dir):
    add_examples(4)
    run = finetuning.training_run_create("", "1900-1919")
    with pytest.raises(finetuning.RunAlreadyPending, match=f"#{run.pk}"):
        finetuning.training_run_create("", "1900-1919")
    with pytest.raises(IntegrityError), transaction.atomic():  # the database itself refuses a second pending run
        TrainingRun.objects.create(era="1900-1919", status=RunStatus.RUNNING)
    assert finetuning.training_run_claim(run.pk) is True
    assert finetuning.training_run_claim(run.pk) is False  # a second worker gets nothing
    other = finetuning.training_run_create("street", "1900-1919")  # other buckets are independent
    assert other.pk != run.pk
    with pytest.raises(CommandError, match="is running"):
        call_command("finetune", "--bucket", "any:1900-1919", "--now")


def test_a_run_whose_worker_died_is_failed_by_the_sweeper_and_the_bucket_can_run_again(
    add_examples, schedule, model_dir
):
    add_examples(4)
    run = finetuning.training_run_create("", "1900-1919")
    assert finetuning.training_run_claim(run.pk)
    TrainingRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=2))
    assert finetuning.training_runs_sweep()["failed"] == 1
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "heartbeat" in run.error
    assert run_now().status == RunStatus.SUCCEEDED


def test_a_crash_leaves_no_half_written_model_and_the_run_can_be_retried(
    add_examples, schedule, model_dir, monkeypatch, settings
):
    add_examples(4)

    def crash(images, out, *args, **kwargs):
        Path(out).write_bytes(b"half a model")
        raise RuntimeError("out of memory")

    monkeypatch.setattr("colorization.engine.training.train", crash)
    with pytest.raises(RuntimeError):
        run_now()
    run = TrainingRun.objects.get()
    assert run.status == RunStatus.FAILED and "out of memory" in run.error
    assert not ColorModel.objects.exclude(slug="base").exists()
    assert not (Path(settings.MEDIA_ROOT) / "models" / "sha256").exists() and no_staging_left(run.pk)
    monkeypatch.undo()
    assert run_now().status == RunStatus.SUCCEEDED


def test_finetune_command_by_hand(add_examples, schedule, model_dir, monkeypatch, django_capture_on_commit_callbacks):
    add_examples(4)
    out = io.StringIO()
    call_command("finetune", "--list", stdout=out)
    assert "any:1900-1919" in out.getvalue() and "DUE" in out.getvalue()
    out = io.StringIO()
    call_command("finetune", "--bucket", "any:1900-1919", "--now", "--json", stdout=out)
    assert "succeeded" in out.getvalue() and '"candidate": "any-1900-1919-v1"' in out.getvalue()
    monkeypatch.setattr("colorization.tasks.run_training.apply_async", lambda args, queue: None)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("finetune", "--bucket", "street:1900-1919", stdout=io.StringIO())
    assert TrainingRun.objects.filter(genre="street", era="1900-1919", status=RunStatus.QUEUED).exists()
    for bad, message in (
        ("street", "GENRE:ERA"),
        ("nope:1900-1919", "unknown genre"),
        ("any:1901-1902", "unknown era"),
    ):
        with pytest.raises(CommandError, match=message):
            call_command("finetune", "--bucket", bad)


def test_the_celery_task_claims_and_runs(add_examples, schedule, model_dir):
    from colorization.tasks import run_training

    add_examples(4)
    run = finetuning.training_run_create("", "1900-1919")
    assert run_training.apply(args=(run.pk,)).get() == RunStatus.SUCCEEDED
    assert run_training.apply(args=(run.pk,)).get().startswith("not claimable")


# -- the schedule -------------------------------------------------------------------------------


def test_crontab_parsing_and_matching():
    assert fired_between("0 3 * * *", datetime(2026, 1, 1, 2, 0, tzinfo=UTC), datetime(2026, 1, 1, 3, 4, tzinfo=UTC))
    assert not fired_between(
        "0 3 * * *", datetime(2026, 1, 1, 3, 1, tzinfo=UTC), datetime(2026, 1, 1, 4, 0, tzinfo=UTC)
    )
    assert fired_between(
        "*/15 * * * 1-5", datetime(2026, 1, 5, 9, 1, tzinfo=UTC), datetime(2026, 1, 5, 9, 15, tzinfo=UTC)
    )
    assert not fired_between(
        "*/15 * * * 6,7", datetime(2026, 1, 5, 9, 1, tzinfo=UTC), datetime(2026, 1, 5, 9, 15, tzinfo=UTC)
    )
    for bad in ("0 3 * *", "61 * * * *", "a * * * *", "5-1 * * * *"):
        with pytest.raises(CrontabError):
            parse_crontab(bad)


def test_the_beat_tick_enqueues_due_buckets_only_when_the_crontab_fired(
    add_examples, schedule, model_dir, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("colorization.tasks.run_training.apply_async", lambda args, queue: None)
    add_examples(4)
    schedule.crontab = "0 3 * * *"
    schedule.last_checked_at = datetime(2026, 1, 1, 2, 50, tzinfo=UTC)
    schedule.save()
    with django_capture_on_commit_callbacks(execute=True):
        report = finetuning.finetune_tick(now=datetime(2026, 1, 1, 2, 55, tzinfo=UTC))
    assert not report["fired"] and not TrainingRun.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        report = finetuning.finetune_tick(now=datetime(2026, 1, 1, 3, 0, 30, tzinfo=UTC))
    assert report["fired"] and len(report["enqueued"]) == 3
    schedule.refresh_from_db()
    assert schedule.last_fired_at is not None
    schedule.enabled = False
    schedule.save()
    TrainingRun.objects.update(status=RunStatus.FAILED)
    assert not finetuning.finetune_tick(now=datetime(2026, 1, 2, 3, 0, 30, tzinfo=UTC))["fired"]


def test_the_beat_schedule_has_the_tick_and_runs_go_to_the_training_queue(settings):
    assert settings.CELERY_BEAT_SCHEDULE["finetune-tick"]["task"] == "colorization.tasks.finetune_tick"
    assert settings.CELERY_TASK_ROUTES["colorization.tasks.run_training"] == {"queue": "training"}


def test_the_admin_validates_the_crontab(client, django_user_model, db):
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(admin)
    schedule = FinetuneSchedule.get()
    data = {
        f.name: getattr(schedule, f.name)
        for f in FinetuneSchedule._meta.fields
        if f.name not in ("id", "last_checked_at", "last_fired_at")
    }
    data["crontab"] = "every night"
    response = client.post(f"/admin/colorization/finetuneschedule/{schedule.pk}/change/", data)
    assert response.status_code == 200 and "five fields" in response.content.decode()
    data["crontab"] = "30 2 * * 0"
    response = client.post(f"/admin/colorization/finetuneschedule/{schedule.pk}/change/", data)
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert schedule.crontab == "30 2 * * 0"


# -- pages and API ------------------------------------------------------------------------------


def test_api_lists_models_and_runs(add_examples, schedule, model_dir, client):
    add_examples(4)
    run = run_now()
    body = client.get("/api/v1/models/").json()
    by_slug = {m["slug"]: m for m in body["results"]}
    model = by_slug["any-1900-1919-v1"]
    assert {"slug", "version", "status", "genre", "era", "parent", "metrics"} <= set(model)
    assert (model["status"], model["genre"], model["era"], model["parent"]) == ("active", None, "1900-1919", "base")
    assert model["lineage"] == ["any-1900-1919-v1", "base"] and "deltas" in model["metrics"]
    assert by_slug["base"]["status"] == "active" and by_slug["base"]["parent"] is None
    assert model["training_run"] == run.pk and by_slug["base"]["training_run"] is None
    detail = client.get("/api/v1/models/any-1900-1919-v1/").json()
    assert detail["contributors"][0]["username"] == "owner" and detail["samples"]
    assert client.get("/api/v1/models/?status=rejected").json()["results"] == []
    runs = client.get("/api/v1/training-runs/").json()["results"]
    assert runs[0]["id"] == run.pk and runs[0]["status"] == "succeeded" and runs[0]["candidate"] == "any-1900-1919-v1"
    assert runs[0]["loss_curve"] and runs[0]["metrics"]["deltas"]
    missing = client.get("/api/v1/models/nope/")
    assert missing.status_code == 404 and missing.json()["error"]


def test_registry_pages_show_bucket_lineage_charts_samples_and_credit(add_examples, schedule, model_dir, client):
    add_examples(4)
    run = run_now()
    page = client.get("/models/").content.decode()
    assert "any-1900-1919-v1" in page and "any era" not in page.split("In use")[0]
    detail = client.get("/models/any-1900-1919-v1/").content.decode()
    assert detail.count("<svg") == 3  # loss curve, PSNR before/after, colourfulness before/after
    assert re.search(r'class="(gain|loss)">[+-]\d+\.\d\d dB', detail)  # signed changes
    assert "Lineage" in detail and 'href="/models/base/"' in detail
    assert "AI-colorized" in detail and "/media/models/samples/any-1900-1919-v1/" in detail
    assert 'href="/people/owner/"' in detail
    assert "Roll back" not in detail  # staff only
    runs = client.get("/training-runs/").content.decode()
    assert f"#{run.pk}" in runs
    run_page = client.get(f"/training-runs/{run.pk}/").content.decode()
    assert "<svg" in run_page and "Promoted" in run_page
    assert client.get("/models/nope/").status_code == 404


def test_photo_page_shows_which_model_made_each_draft_and_recolorizes_with_the_newest(
    add_examples, schedule, model_dir, client, owner, make_photo, django_capture_on_commit_callbacks
):
    photo = make_photo(owner, genre="street", year_from=1911, year_to=1911)
    add_examples(4)
    model = run_now().candidate
    client.force_login(owner)
    page = client.get(photo.get_absolute_url()).content.decode()
    assert "1 draft by" in page and "Re-colorize with the newest model" in page and model.slug in page
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"/photos/{photo.pk}/recolorize/", follow=True)
    assert f"model {model.slug} v1" in response.content.decode()
    assert photo.drafts.order_by("-id").first().model_slug == model.slug
    # Issue 22: once a draft comes from the newest model, re-colorizing with it is no longer offered.
    page = client.get(photo.get_absolute_url()).content.decode()
    assert "Re-colorize with the newest model" not in page and 'id="newest-model-used"' in page
    client.logout()
    assert client.post(f"/photos/{photo.pk}/recolorize/").status_code == 302  # to the login page
    assert TrainingExample.objects.count() >= 4


def test_a_run_whose_worker_died_resumes_on_another_host_from_the_staging_in_storage(
    add_examples, schedule, model_dir, monkeypatch, settings, tmp_path
):
    import shutil

    class WorkerKilled(BaseException):  # like SIGKILL: nothing in the worker gets to clean up
        pass

    schedule.members, schedule.steps, schedule.minutes = 1, 6, 60.0  # steps, not the clock, end it
    schedule.save()
    add_examples(4)
    run = finetuning.training_run_create("", "1900-1919", overrides={"checkpoint_every_s": 0.0})
    assert finetuning.training_run_claim(run.pk)
    beat = finetuning._Beat.__call__

    def die_at_step_3(self, text, force=False):
        if "step 3" in text:
            raise WorkerKilled
        beat(self, text, force)

    monkeypatch.setattr(finetuning._Beat, "__call__", die_at_step_3)
    with pytest.raises(WorkerKilled):
        finetuning.training_run_execute(run.pk, log=lambda s: None)
    monkeypatch.undo()
    stored_staging = Path(settings.MEDIA_ROOT) / "models" / "staging" / f"run-{run.pk}"
    assert {p.name for p in stored_staging.iterdir()} == {"candidate.safetensors", "candidate.safetensors.state.pt"}

    # Another host: none of the first host's files, the run's heartbeat stale.
    shutil.rmtree(finetuning.staging_dir(run.pk))
    settings.CHROMA_MODEL_CACHE_DIR = str(tmp_path / "host-b-cache")
    TrainingRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=2))
    assert finetuning.training_run_claim(run.pk)
    lines = []
    run = finetuning.training_run_execute(run.pk, log=lines.append)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert any("resuming from the staging in storage" in line for line in lines)
    assert any(line.startswith("resumed at step 2") for line in lines)
    assert run.steps == 6 and no_staging_left(run.pk)
