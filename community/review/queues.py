"""Review queues (reads only): "needs review", "needs correction" and "my contributions"."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, Value, When

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
)

QUEUE_COLUMNS = (
    *("id", "photo_id", "author_id", "kind", "thumbnail", "note", "created_at"),
    *("votes_up", "votes_down", "historian_votes"),
    *("render__id", "render__thumbnail", "render__model_slug", "render__model_version"),  # the AI label
)


def needs_review(user, limit: int = 50, *, profile=None) -> list[Correction]:
    """Pending corrections one can judge (rendered, not gold, not one's own, not voted on), oldest first.

    Historians see first the corrections still waiting for the historian votes the rule needs.
    Each row carries ``photo_title`` and ``author_username``. ``profile``: the user's profile if
    already read (the page's ``viewer_profile``). One compiled statement of ``_review_queue``.
    """
    role = viewer_role(user)
    if role == "anonymous":
        return _REVIEW_QUEUE((role, False, limit))
    historian = (profile or profile_for(user)).role == Role.HISTORIAN
    return _REVIEW_QUEUE((role, historian, limit), user_id=user.pk)


def _review_queue(shape: tuple[str, bool, int], *, user_id: int | None = None):
    role, historian, limit = shape
    qs = (
        Correction.objects.visible_to(role_viewer(role, user_id))
        .filter(status=CorrectionStatus.PENDING, is_gold=False, hidden_at__isnull=True)
        .filter(Q(kind=CorrectionKind.MANUAL) | Q(render__status=DraftStatus.DONE))
        # Only what the queue shows. Every joined table multiplies PostgreSQL's planning of this
        # query (with the visibility subquery): with the base draft and the author's profile as
        # well, planning took 55-100 ms at 100,000 photos, against 3 ms without them.
        .select_related("render")
        # Only the columns the queue shows (issue 25): building 50 full rows of four tables (the
        # hint documents decoded, a dozen timestamps parsed) cost more than rendering them. The
        # photo's title and the author's name come as two columns rather than two model instances.
        .only(*QUEUE_COLUMNS)
        .annotate(photo_title=F("photo__title"), author_username=F("author__username"))
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
            return qs[:limit]
    return qs.order_by("created_at", "id")[:limit]


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
