from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from colorization.cron import CrontabError, parse_crontab
from colorization.eras import era_label

logger = logging.getLogger(__name__)


class Licence(models.TextChoices):
    PUBLIC_DOMAIN = "public-domain", "Public domain"
    CC0 = "cc0", "CC0 1.0"
    CC_BY = "cc-by-4.0", "CC BY 4.0"
    CC_BY_SA = "cc-by-sa-4.0", "CC BY-SA 4.0"
    CC_BY_NC = "cc-by-nc-4.0", "CC BY-NC 4.0"
    CC_BY_NC_SA = "cc-by-nc-sa-4.0", "CC BY-NC-SA 4.0"
    CC_BY_ND = "cc-by-nd-4.0", "CC BY-ND 4.0"
    ALL_RIGHTS_RESERVED = "all-rights-reserved", "All rights reserved"
    UNKNOWN = "unknown", "Unknown"


def photo_visibility(user, prefix: str = "") -> Q | None:
    """Which photos a user may see, as a condition on the photo's fields reached through ``prefix``
    (``"photo__"`` from a correction): everything public, plus their own hidden ones; None for
    staff, who see all. The one statement of the rule; ``visible_to`` and queries that reach
    photos through a join use it."""
    if user.is_authenticated and user.is_staff:
        return None
    public = Q(**{f"{prefix}hidden_at__isnull": True})
    return public | Q(**{f"{prefix}owner": user}) if user.is_authenticated else public


def viewer_role(user) -> str:
    """What decides ``photo_visibility``'s statement for a user: "staff", "member" or "anonymous"."""
    if not user.is_authenticated:
        return "anonymous"
    return "staff" if user.is_staff else "member"


def role_viewer(role: str, user_id: int | None = None):
    """A stand-in viewer of ``viewer_role`` ``role`` with this primary key: what a compiled query
    (colorization/compiled_queries.py) builds ``photo_visibility`` with, which reads only these."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import AnonymousUser

    if role == "anonymous":
        return AnonymousUser()
    return get_user_model()(pk=user_id, is_staff=role == "staff")


class PhotoQuerySet(models.QuerySet):
    def visible_to(self, user) -> PhotoQuerySet:
        """Photos a user may see (``photo_visibility``)."""
        rule = photo_visibility(user)
        return self if rule is None else self.filter(rule)

    def with_preview(self) -> PhotoQuerySet:
        """Annotate the newest finished draft's thumbnail and model (one query, no N+1)."""
        done = Draft.objects.filter(
            photo=models.OuterRef("pk"), status=DraftStatus.DONE, purpose=DraftPurpose.DRAFT
        ).order_by("-finished_at", "-id")
        return self.annotate(
            preview_thumbnail=models.Subquery(done.values("thumbnail")[:1]),
            preview_model=models.Subquery(done.values("model_slug")[:1]),
            preview_version=models.Subquery(done.values("model_version")[:1]),
        )

    def in_years(self, year_from: int | None, year_to: int | None) -> PhotoQuerySet:
        """Photos whose year range overlaps [year_from, year_to]."""
        qs = self
        if year_from is not None:
            qs = qs.filter(year_to__gte=year_from)
        if year_to is not None:
            qs = qs.filter(year_from__lte=year_to)
        return qs


class MediaKind(models.TextChoices):
    IMAGE = "image", "Photograph"
    VIDEO = "video", "Film clip"


YEAR_VALIDATORS = [MinValueValidator(1826), MaxValueValidator(2100)]  # 1826: the oldest surviving photograph


class Photo(models.Model):
    """An uploaded historical photograph. The original file is never modified."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="photos")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    year_from = models.PositiveSmallIntegerField(null=True, blank=True, validators=YEAR_VALIDATORS)
    year_to = models.PositiveSmallIntegerField(null=True, blank=True, validators=YEAR_VALIDATORS)
    genre = models.CharField(max_length=40, default="unknown")  # validated against settings.CHROMA_GENRES
    place = models.CharField(max_length=300, blank=True)
    source_archive = models.CharField(max_length=300, blank=True)
    source_reference = models.CharField(max_length=500, blank=True, help_text="URL or archive reference")
    licence = models.CharField(max_length=40, choices=Licence.choices, default=Licence.UNKNOWN)
    credit_line = models.CharField(max_length=300, blank=True)

    original = models.FileField(max_length=300)
    original_filename = models.CharField(max_length=255, blank=True)
    original_sha256 = models.CharField(max_length=64, unique=True)
    original_bytes = models.PositiveBigIntegerField()
    image_format = models.CharField(max_length=16)  # as sniffed from the content: JPEG, PNG, TIFF, ...
    width = models.PositiveIntegerField()  # after EXIF orientation
    height = models.PositiveIntegerField()
    bit_depth = models.PositiveSmallIntegerField(default=8)
    is_colour_source = models.BooleanField(
        default=False, help_text="The upload has colour (e.g. a sepia print); it is colorized from its luminance."
    )
    thumbnail = models.FileField(max_length=300, blank=True)

    # A film clip (issue 19) is a Photo of kind "video": the same upload, metadata, visibility
    # and drafts; these fields describe its moving pictures (empty for a still photograph).
    media_kind = models.CharField(max_length=8, choices=MediaKind.choices, default=MediaKind.IMAGE)
    frame_count = models.PositiveIntegerField(null=True, blank=True)
    fps = models.CharField(max_length=24, blank=True, help_text="frames per second, exact: 30000/1001")
    duration_seconds = models.FloatField(null=True, blank=True)
    video_codec = models.CharField(max_length=32, blank=True)
    audio_codec = models.CharField(max_length=32, blank=True, help_text="empty: the clip has no sound")
    # What the player's "original" side plays: the original itself when browsers play it as it is
    # (H.264/VP9/AV1 MP4, VP8/VP9/AV1 WebM), else an H.264/AAC copy the worker makes; empty until
    # then. Downloads of the original always serve ``original``, untouched.
    web_video = models.FileField(max_length=300, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    hidden_at = models.DateTimeField(null=True, blank=True)

    objects = PhotoQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(year_from__isnull=True) | Q(year_to__isnull=True) | Q(year_from__lte=models.F("year_to")),
                name="photo_year_range_ordered",
            ),
        ]
        indexes = [
            # The gallery and the API list: newest first, optionally by genre.
            models.Index(fields=["-created_at", "-id"], name="photo_newest"),
            models.Index(fields=["genre", "-created_at"], name="photo_genre_newest"),
            # Era filters: overlap of [year_from, year_to] with a decade.
            models.Index(fields=["year_from", "year_to"], name="photo_years"),
            # "My photos".
            models.Index(fields=["owner", "-created_at"], name="photo_owner_newest"),
        ]

    def __str__(self) -> str:
        return self.title

    # get_absolute_url comes from settings.ABSOLUTE_URL_OVERRIDES: a photo's page is the site's
    # (community's) photo page, a route this app does not define.

    @property
    def era(self) -> str:
        return era_label(self.year_from, self.year_to)

    @property
    def is_video(self) -> bool:
        return self.media_kind == MediaKind.VIDEO


class Shot(models.Model):
    """One shot of a film clip: frames [start_frame, end_frame), and the frames chosen as keyframes.

    Found by the render job's shot detector (``engine.video.detect_shots``/``choose_keyframes``);
    a keyframe is where volunteers' hints apply, carried through the rest of its shot.
    """

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="shots")
    number = models.PositiveIntegerField()  # 0-based, in order
    start_frame = models.PositiveIntegerField()
    end_frame = models.PositiveIntegerField()  # exclusive
    keyframes = models.JSONField(default=list)  # frame indices (absolute), ascending

    class Meta:
        ordering = ["photo", "number"]
        constraints = [
            models.UniqueConstraint(fields=["photo", "number"], name="shot_number_unique"),
            models.CheckConstraint(condition=Q(end_frame__gt=F("start_frame")), name="shot_not_empty"),
        ]

    def __str__(self) -> str:
        return f"shot {self.number + 1} of {self.photo_id} (frames {self.start_frame}–{self.end_frame - 1})"


def worker_name() -> str:
    """This process, as a job's ``worker`` records it: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_is_dead(name: str) -> bool:
    """True when ``name`` (a ``worker_name``) is a process of this host that no longer runs.

    A pool child killed mid-job (out of memory, a hard time limit) leaves its claim behind with a
    recent heartbeat; when its task is redelivered on the same host, this tells the claim is an
    orphan at once instead of after the stale window. Another host cannot tell: False.
    """
    host, _, pid = name.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in {"Z", "X"}  # killed, not yet reaped
    except FileNotFoundError:
        return True
    except OSError:
        return False


class Job(models.Model):
    """A row a worker claims and keeps alive: a ``Draft`` to render, a ``TrainingRun`` to train.

    The concrete model has a ``status`` field with "queued" and "running" among its values.
    A worker takes a job with a conditional update (``claim``): exactly one caller changes the row,
    so nothing is done twice at once, and no lock is held. While it works it sends ``heartbeat``s;
    a running job whose heartbeat is older than the stale limit may be claimed again.
    """

    QUEUED = "queued"
    RUNNING = "running"

    worker = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @classmethod
    def claim(cls, pk: int, *, stale_seconds: float, **changes) -> bool:
        """Take a queued job (or a running one whose worker stopped sending heartbeats) for this process.

        ``changes``: more columns to set in the same update. True only for the one caller that won.
        """
        now = timezone.now()
        stale = now - timedelta(seconds=stale_seconds)
        claimable = Q(status=cls.QUEUED) | Q(status=cls.RUNNING, heartbeat_at__lt=stale)
        changes = {
            "status": cls.RUNNING,
            "started_at": now,
            "heartbeat_at": now,
            "attempts": F("attempts") + 1,
            "worker": worker_name(),
            "error": "",
            **changes,
        }
        if cls.objects.filter(claimable, pk=pk).update(**changes) == 1:
            return True
        # Running with a fresh heartbeat: an orphan all the same if its process died on this host.
        owner = cls.objects.filter(pk=pk, status=cls.RUNNING).values_list("worker", flat=True).first()
        if owner and worker_is_dead(owner):
            return cls.objects.filter(pk=pk, status=cls.RUNNING, worker=owner).update(**changes) == 1
        return False

    @classmethod
    def seconds_until_claimable(cls, pk: int, *, stale_seconds: float) -> float | None:
        """How long until a job running elsewhere may be claimed (its heartbeat gone stale); None if not running."""
        beat = cls.objects.filter(pk=pk, status=cls.RUNNING).values_list("heartbeat_at", flat=True).first()
        if beat is None:
            return None
        return max(0.0, (beat + timedelta(seconds=stale_seconds) - timezone.now()).total_seconds())

    @classmethod
    def heartbeat(cls, pks: list[int], **changes) -> int:
        """Mark running jobs alive now (with ``changes``, such as progress); returns how many were."""
        return cls.objects.filter(pk__in=pks, status=cls.RUNNING).update(heartbeat_at=timezone.now(), **changes)

    @classmethod
    def keep_alive(cls, pks: list[int], *, interval: float) -> JobKeepAlive:
        """A context manager that sends this process's heartbeats for ``pks`` every ``interval`` seconds.

        Heartbeats at stage changes alone leave long silences (a big forward pass), so the stale
        window would have to be longer than the slowest stage; with a thread beating steadily it
        can be a few intervals, and a dead worker's job is taken over quickly. Only rows this
        process still holds are touched: once another worker took a job over, its beats stop.
        ``pks`` may grow while it runs (jobs claimed later).
        """
        return JobKeepAlive(cls, pks, interval)


class JobKeepAlive:
    def __init__(self, model: type[Job], pks: list[int], interval: float):
        self.model, self.pks, self.interval = model, pks, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="job-keep-alive", daemon=True)

    def __enter__(self) -> JobKeepAlive:
        from django.db import connection

        # Inside a transaction (a task run eagerly in a test) another connection cannot see the rows.
        if not connection.in_atomic_block:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 5)

    def _run(self) -> None:
        from django.db import connection

        me = worker_name()
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.model.objects.filter(pk__in=list(self.pks), status=Job.RUNNING, worker=me).update(
                        heartbeat_at=timezone.now()
                    )
                except Exception:  # a missed beat is retried; the job's own errors decide its fate
                    logger.warning("heartbeat for %s %s failed", self.model.__name__, self.pks, exc_info=True)
                    connection.close()
        finally:
            connection.close()  # this thread's own database connection


class DraftStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class DraftPurpose(models.TextChoices):
    DRAFT = "draft", "Automatic draft"
    CORRECTION = "correction", "Render of a volunteer's correction"
    COMMUNITY = "community", "A film clip rendered with its accepted keyframe corrections"


class Draft(Job):
    """One automatic colorization of a photo, recording exactly what produced it.

    Re-running the same request (model file, hints, render size, saturation) gives
    the same image; the worker writes it under a key derived from the draft's id.
    """

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="drafts")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=DraftStatus.choices, default=DraftStatus.QUEUED)
    purpose = models.CharField(max_length=12, choices=DraftPurpose.choices, default=DraftPurpose.DRAFT)
    progress = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    stage = models.CharField(max_length=60, default="Waiting for a worker")
    error = models.TextField(blank=True)

    # What produced it.
    model_slug = models.CharField(max_length=80)
    model_version = models.CharField(max_length=40)
    model_sha256 = models.CharField(max_length=64)
    render_size = models.PositiveSmallIntegerField(validators=[MinValueValidator(64), MaxValueValidator(4096)])
    saturation = models.FloatField(validators=[MinValueValidator(0.0), MaxValueValidator(2.0)])
    hints = models.JSONField(default=dict, blank=True)
    device = models.CharField(max_length=40, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    batch_size = models.PositiveSmallIntegerField(null=True, blank=True, help_text="drafts in its forward pass")

    image = models.FileField(max_length=300, blank=True)  # PNG, lossless, with embedded disclosure
    image_jpeg = models.FileField(max_length=300, blank=True)
    thumbnail = models.FileField(max_length=300, blank=True)
    # A film clip's render (issue 19): the colour clip, and the chunks finished so far, so that a
    # worker that dies resumes from the last finished chunk (each chunk's end state is stored too).
    video = models.FileField(max_length=300, blank=True)  # MP4 (H.264/AAC), disclosure in its tags
    # Its size, recorded when the render finishes (the feed's enclosure length; no storage request).
    video_bytes = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="the colour clip's size in bytes (null: not measured)"
    )
    frames_done = models.PositiveIntegerField(default=0)
    frames_total = models.PositiveIntegerField(null=True, blank=True)
    chunks = models.JSONField(default=list, blank=True)  # [{"video": key, "state": key, "frames": n}]
    # Each keyframe of a clip render as a still, to correct in the editor: {"120": {"colour": key,
    # "original": key}} (frame numbers from 0; the colour still carries the disclosure).
    stills = models.JSONField(default=dict, blank=True)
    # A keyframe correction's render: this frame of the clip alone, colorized with ``hints`` like a
    # photo (null for a photo's drafts and for whole-clip renders).
    frame = models.PositiveIntegerField(null=True, blank=True)

    queue = models.CharField(max_length=20, default="gpu")
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # worker, attempts, started_at, heartbeat_at, finished_at: from Job.

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="draft_progress_at_most_100"),
            models.CheckConstraint(
                condition=Q(saturation__gte=0) & Q(saturation__lte=2), name="draft_saturation_in_range"
            ),
        ]
        indexes = [
            # The sweeper and batching: drafts by status, oldest first.
            models.Index(fields=["status", "created_at"], name="draft_status_oldest"),
            # A photo's drafts, newest first (photo page, API detail).
            models.Index(fields=["photo", "-created_at"], name="draft_photo_newest"),
        ]

    def __str__(self) -> str:
        return f"Draft {self.pk} of photo {self.photo_id} ({self.status})"

    @property
    def keyframe_hints(self) -> dict[int, dict]:
        """A community render's hints per keyframe (``{"keyframes": {"120": hints}}`` -> ``{120: hints}``)."""
        return {int(k): v for k, v in ((self.hints or {}).get("keyframes") or {}).items()}

    @property
    def label(self) -> str:
        return f"AI-colorized · model {self.model_slug} v{self.model_version} · colours are an estimate"


class Split(models.TextChoices):
    TRAIN = "train", "Training"
    HOLDOUT = "holdout", "Held out for evaluation"


class TrainingExampleQuerySet(models.QuerySet):
    def active(self):
        return self.filter(withdrawn_at__isnull=True)


class TrainingExample(models.Model):
    """A photo's luminance with accepted colours, for fine-tuning community models.

    ``source`` names what it came from (``"correction:42"``) so adding the same thing twice is a
    no-op; colorization never imports the app that made it. The image is stored at most
    ``CHROMA_TRAINING_EXAMPLE_SIDE`` px on its long side, sRGB PNG, the original's L* with the
    accepted chroma. The split is a function of the photo alone, so all of a photo's examples
    land on the same side.
    """

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="training_examples")
    source = models.CharField(max_length=80, unique=True)
    contributor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="training_examples"
    )
    image = models.FileField(max_length=300)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    genre = models.CharField(max_length=40)
    era_bucket = models.CharField(max_length=20, blank=True)  # "" when the photo is undated
    split = models.CharField(max_length=8, choices=Split.choices)
    # The global colour hint the accepted colours were made with (the hints document's "global"
    # member), kept with the example so its provenance and render can be traced; null if none.
    global_hint = models.JSONField(null=True, blank=True)
    # A film clip's example is one keyframe (its still with the accepted colours); null for a photo.
    frame = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.CharField(max_length=300, blank=True)
    # Revoked: the accepted colours were taken back (new evidence). Withdrawn for good, and every
    # model trained on it is flagged; ``revoked_url`` links to the revocation (the caller's page).
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=300, blank=True)
    revoked_url = models.CharField(max_length=300, blank=True)
    # A moderator hid the content these colours came from (the correction): pages and the API that
    # flag models trained on a revoked example then show neither its reason nor its link.
    source_hidden_at = models.DateTimeField(null=True, blank=True)

    objects = TrainingExampleQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["genre", "era_bucket", "split"], name="example_bucket")]

    def __str__(self) -> str:
        return f"Training example {self.pk} ({self.source}, {self.split})"


# --- Community models: the registry, fine-tuning runs and their schedule ---------------------------


class ModelStatus(models.TextChoices):
    CANDIDATE = "candidate", "Candidate (being evaluated)"
    ACTIVE = "active", "Active (drafts in its bucket use it)"
    REJECTED = "rejected", "Rejected by the evaluation gate"
    RETIRED = "retired", "Retired (replaced or rolled back)"


class ColorModel(models.Model):
    """A colorization model in the registry: the shipped base model (the root) or a fine-tuned one.

    A bucket is (genre, era); an empty genre or era means "any". Each row's slug is unique and names
    one file (``street-1900-1919-v2``); the weights are a safetensors file in storage under its
    sha256 (colorization/model_cache.py), recorded here and checked whenever it is loaded.
    """

    slug = models.SlugField(max_length=80, unique=True)
    version = models.PositiveIntegerField()
    genre = models.CharField(max_length=40, blank=True, help_text="empty: any genre")
    era = models.CharField(max_length=20, blank=True, help_text="an era bucket such as 1900-1919; empty: any era")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    replaced = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the bucket's active model when this one was promoted: what a rollback restores",
    )
    weights = models.CharField(
        max_length=300,
        help_text="storage key (models/sha256/…); a file name in CHROMA_MODEL_DIR for models not yet moved to "
        "storage; empty for the shipped base model",
        blank=True,
    )
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=ModelStatus.choices, default=ModelStatus.CANDIDATE)
    metrics = models.JSONField(default=dict, blank=True)
    samples = models.JSONField(default=list, blank=True, help_text="holdout outputs: [{example, parent, candidate}]")
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["genre", "era", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["genre", "era"], condition=Q(status="active"), name="colormodel_one_active_per_bucket"
            ),
            models.UniqueConstraint(fields=["genre", "era", "version"], name="colormodel_bucket_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.slug} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("model-detail", args=[self.slug])

    @property
    def is_base(self) -> bool:
        return self.parent_id is None and not self.weights

    @property
    def bucket_label(self) -> str:
        return bucket_name(self.genre, self.era)

    def lineage(self) -> list[ColorModel]:
        """This model, its parent, … back to the base model (at most 50 steps)."""
        chain, node = [], self
        while node is not None and len(chain) < 50:
            chain.append(node)
            node = node.parent
        return chain


def bucket_name(genre: str, era: str) -> str:
    return f"{genre or 'any genre'} · {era or 'any era'}"


def bucket_key(genre: str, era: str) -> str:
    """``street:1900-1919``, ``any:1900-1919``, ``street:any`` (the finetune command's --bucket)."""
    return f"{genre or 'any'}:{era or 'any'}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded (candidate promoted)"
    REJECTED = "rejected", "Rejected (candidate did not beat its parent)"
    FAILED = "failed", "Failed"


class TrainingRun(Job):
    """One fine-tuning of a bucket's model on its training examples, with the evaluation that decides."""

    genre = models.CharField(max_length=40, blank=True)
    era = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    parent = models.ForeignKey(ColorModel, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    candidate = models.OneToOneField(
        ColorModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="training_run"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger = models.CharField(max_length=20, default="schedule")  # schedule | command | admin
    config = models.JSONField(default=dict, blank=True)
    steps = models.PositiveIntegerField(default=0)
    loss_curve = models.JSONField(default=list, blank=True)  # [[step, seconds, loss], ...]
    metrics = models.JSONField(default=dict, blank=True)  # {"parent": {...}, "candidate": {...}}
    decision = models.TextField(blank=True)
    error = models.TextField(blank=True)
    examples = models.ManyToManyField(TrainingExample, blank=True, related_name="training_runs")
    train_count = models.PositiveIntegerField(default=0)
    holdout_count = models.PositiveIntegerField(default=0)
    progress = models.CharField(max_length=120, blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    # worker, attempts, started_at, heartbeat_at, finished_at: from Job.
    train_seconds = models.FloatField(null=True, blank=True)
    eval_seconds = models.FloatField(null=True, blank=True)
    cpu_seconds = models.FloatField(null=True, blank=True)
    device = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        constraints = [
            # The lock: at most one queued or running run per bucket, enforced by the database.
            models.UniqueConstraint(
                fields=["genre", "era"],
                condition=Q(status__in=["queued", "running"]),
                name="trainingrun_one_pending_per_bucket",
            ),
        ]
        indexes = [models.Index(fields=["genre", "era", "-queued_at"], name="run_bucket_newest")]

    def __str__(self) -> str:
        return f"Training run {self.pk} ({bucket_key(self.genre, self.era)}, {self.status})"

    def get_absolute_url(self) -> str:
        return reverse("training-run-detail", args=[self.pk])

    @property
    def bucket_label(self) -> str:
        return bucket_name(self.genre, self.era)

    @property
    def wall_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


def validate_crontab(value: str) -> None:
    try:
        parse_crontab(value)
    except CrontabError as exc:
        raise ValidationError(str(exc)) from exc


class FinetuneSchedule(models.Model):
    """When and how fine-tuning runs; one row, edited by an admin (the beat task reads it every few minutes)."""

    enabled = models.BooleanField(default=True)
    crontab = models.CharField(
        max_length=100,
        default="0 3 * * *",
        validators=[validate_crontab],
        help_text="minute hour day-of-month month day-of-week (UTC); nightly at 03:00",
    )
    min_examples = models.PositiveIntegerField(default=50, help_text="M: training examples a bucket needs")
    min_new_examples = models.PositiveIntegerField(default=10, help_text="K: new examples since its last run")
    margin_db = models.FloatField(default=0.1, help_text="the candidate must beat its parent at 0 hints by this (dB)")
    noise_db = models.FloatField(default=0.05, help_text="allowed PSNR loss at 10 and 50 hints (dB)")
    colourfulness_tolerance = models.FloatField(
        default=0.05, help_text="allowed drop of the colourfulness ratio at 0 hints"
    )
    steps = models.PositiveIntegerField(default=12000, help_text="at most this many training steps")
    minutes = models.FloatField(default=20.0, help_text="at most this much training time")
    batch_size = models.PositiveSmallIntegerField(default=8)
    crop = models.PositiveSmallIntegerField(
        default=176, help_text="training crop (px); photos are scaled to the render size first, so ~the whole photo"
    )
    learning_rate = models.FloatField(default=2.5e-3, help_text="peak; cosine decay to 5% over the budget")
    no_hint_fraction = models.FloatField(default=0.3, help_text="share of training crops without simulated hints")
    regression_loss = models.CharField(
        max_length=16,
        choices=[
            ("mse", "mean squared error"),
            ("log_mse", "squared error weighted per photo as mean PSNR weighs it"),
            ("smooth_l1", "smooth L1"),
        ],
        default="log_mse",
        help_text="loss of the chroma the drafts use: squared error tracks the mean colour, which PSNR rewards; "
        "log_mse weighs each photo's error as the mean PSNR over photos does",
    )
    ce_weight = models.FloatField(
        default=0.25, help_text="weight of the colour-class loss (the palette and bold decoding) beside the chroma loss"
    )
    precision = models.CharField(
        max_length=8,
        choices=[
            ("auto", "bfloat16 where the hardware computes it natively (CUDA, AVX512-BF16/AMX CPUs), else float32"),
            ("fp32", "float32"),
            ("bf16", "bfloat16"),
        ],
        default="auto",
        help_text="the network's float format while training; bf16 takes ~2x the steps in the same time",
    )
    members = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1)],
        help_text="fine-tunes with different seeds that share the time and are averaged into one model",
    )
    max_holdout = models.PositiveIntegerField(default=100, help_text="holdout examples evaluated at most")
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_fired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "fine-tuning schedule"

    def __str__(self) -> str:
        return f"Fine-tuning schedule ({self.crontab}{'' if self.enabled else ', disabled'})"

    @classmethod
    def get(cls) -> FinetuneSchedule:
        return cls.objects.order_by("pk").first() or cls.objects.create()
