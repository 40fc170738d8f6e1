"""Review queues (reads only): "needs review", "needs correction" and "my contributions"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, Value, When

from colorization.compiled_queries import CompiledQuery
from colorization.models import Draft, DraftPurpose, DraftStatus, Photo, role_viewer, viewer_role
from community.accounts.services import profile_for
from community.models import (
    Correction,
    CorrectionKind,
    CorrectionStatus,
    GoldStandard,
    Report,
    ReportStatus,
    Role,
    Vote,
    correction_label,
)


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A row of the review queue: what the queue shows of a correction, read as plain values (building
    50 model instances, with their renders and file fields, cost more than rendering them)."""

    pk: int
    photo_title: str
    author_username: str
    kind: str
    thumbnail: str  # storage keys ("" when none)
    render_thumbnail: str | None
    model_slug: str | None
    model_version: str | None
    note: str
    created_at: datetime
    votes_up: int
    votes_down: int
    historian_votes: int

    @property
    def label(self) -> str:
        return correction_label(self.kind, self.model_slug, self.model_version)

    @property
    def thumbnail_url(self) -> str | None:
        """The correction's own thumbnail (a manual correction's), as a URL."""
        return Correction._meta.get_field("thumbnail").storage.url(self.thumbnail) if self.thumbnail else None

    @property
    def render_thumbnail_url(self) -> str | None:
        """Its render's thumbnail (a hints correction's), as a URL."""
        key = self.render_thumbnail
        return Draft._meta.get_field("thumbnail").storage.url(key) if key else None


QUEUE_COLUMNS = (
    *("id", "photo__title", "author__username", "kind", "thumbnail"),
    *("render__thumbnail", "render__model_slug", "render__model_version"),  # the AI label
    *("note", "created_at", "votes_up", "votes_down", "historian_votes"),
)


def needs_review(user, limit: int = 50, *, profile=None) -> list[QueueItem]:
    """Pending corrections one can judge (rendered, not gold, not one's own, not voted on), oldest first.

    Historians see first the corrections still waiting for the historian votes the rule needs.
    ``profile``: the user's profile if already read (the page's ``viewer_profile``). One compiled
    statement of ``_review_queue``.
    """
    historian = user.is_authenticated and (profile or profile_for(user)).role == Role.HISTORIAN
    return [QueueItem(*row) for row in _REVIEW_QUEUE((viewer_role(user), historian, limit), user_id=user.pk)]


def _review_queue(shape: tuple[str, bool, int], *, user_id: int | None = None):
    role, historian, limit = shape
    qs = (
        Correction.objects.visible_to(role_viewer(role, user_id))
        .filter(status=CorrectionStatus.PENDING, is_gold=False, hidden_at__isnull=True)
        .filter(Q(kind=CorrectionKind.MANUAL) | Q(render__status=DraftStatus.DONE))
    )
    if role != "anonymous":
        qs = qs.exclude(author_id=user_id).exclude(
            Exists(Vote.objects.filter(correction=OuterRef("pk"), voter_id=user_id))
        )
    if historian:
        qs = qs.annotate(
            historians_missing=Case(
                When(historian_votes__lt=settings.CHROMA_REVIEW_MIN_HISTORIANS, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        ).order_by("historians_missing", "created_at", "id")
    else:
        qs = qs.order_by("created_at", "id")
    # Only the columns the queue shows, as values (QueueItem). Every joined table multiplies
    # PostgreSQL's planning of this query: with the base draft and the author's profile as well,
    # planning took 55-100 ms at 100,000 photos (with the visibility rule as a subquery then).
    return qs.values_list(*QUEUE_COLUMNS)[:limit]


_REVIEW_QUEUE = CompiledQuery(Correction, _review_queue)


def _photos_with_drafts(user):
    done = Draft.objects.filter(photo=OuterRef("pk"), purpose=DraftPurpose.DRAFT, status=DraftStatus.DONE)
    qs = Photo.objects.visible_to(user).filter(hidden_at__isnull=True).filter(Exists(done)).with_preview()
    if user.is_authenticated:
        # Not the photos one already has a correction waiting on.
        qs = qs.exclude(
            Exists(Correction.objects.filter(photo=OuterRef("pk"), author=user, status=CorrectionStatus.PENDING))
        )
    return qs


def needs_correction(user, limit: int = 24) -> list[Photo]:
    """Drafts without an accepted version, or flagged ones (an open report on the photo or its version).

    Gold-standard photos are mixed in at ``CHROMA_GOLD_RATE`` (one in every 1/rate places) and
    look like any other photo; each person gets the gold photos they have not corrected yet.
    """
    gold = GoldStandard.objects.filter(photo=OuterRef("pk"))
    accepted = Correction.objects.filter(photo=OuterRef("pk"), status=CorrectionStatus.ACCEPTED)
    flagged = Report.objects.filter(status=ReportStatus.OPEN).filter(
        Q(photo=OuterRef("pk")) | Q(correction__photo=OuterRef("pk"), correction__status=CorrectionStatus.ACCEPTED)
    )
    base = _photos_with_drafts(user)
    regular = list(
        base.exclude(Exists(gold))
        .filter(~Exists(accepted) | Exists(flagged))
        .annotate(flagged=Exists(flagged))
        .order_by("-flagged", "created_at", "id")[:limit]
    )
    rate = settings.CHROMA_GOLD_RATE
    if rate <= 0:
        return regular
    gold_qs = base.filter(Exists(gold))
    if user.is_authenticated:
        gold_qs = gold_qs.exclude(Exists(Correction.objects.filter(photo=OuterRef("pk"), author=user)))
    every = max(1, round(1 / rate))
    wanted = max(1, round(limit * rate))
    golds = list(gold_qs.order_by("created_at", "id")[:wanted])
    mixed: list[Photo] = []
    while (regular or golds) and len(mixed) < limit:
        if golds and ((len(mixed) + 1) % every == 0 or not regular):
            mixed.append(golds.pop(0))
        elif regular:
            mixed.append(regular.pop(0))
    return mixed


def my_contributions(user):
    corrections = (
        Correction.objects.filter(author=user).select_related("photo", "render").order_by("-created_at", "-id")
    )
    votes = Vote.objects.filter(voter=user).select_related("correction", "correction__photo").order_by("-updated_at")
    return corrections, votes
