from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from colorization.eras import era_label


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


class PhotoQuerySet(models.QuerySet):
    def visible_to(self, user) -> PhotoQuerySet:
        """Photos a user may see: everything public, plus their own hidden ones; staff see all."""
        if user.is_authenticated and user.is_staff:
            return self
        if user.is_authenticated:
            return self.filter(Q(hidden_at__isnull=True) | Q(owner=user))
        return self.filter(hidden_at__isnull=True)

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

    def get_absolute_url(self) -> str:
        return reverse("photo-detail", args=[self.pk])

    @property
    def era(self) -> str:
        return era_label(self.year_from, self.year_to)


class DraftStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class DraftPurpose(models.TextChoices):
    DRAFT = "draft", "Automatic draft"
    CORRECTION = "correction", "Render of a volunteer's correction"


class Draft(models.Model):
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

    attempts = models.PositiveSmallIntegerField(default=0)
    queue = models.CharField(max_length=20, default="gpu")
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

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
    created_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.CharField(max_length=300, blank=True)

    objects = TrainingExampleQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["genre", "era_bucket", "split"], name="example_bucket")]

    def __str__(self) -> str:
        return f"Training example {self.pk} ({self.source}, {self.split})"
