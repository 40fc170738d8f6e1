from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Role(models.TextChoices):
    VOLUNTEER = "volunteer", "Volunteer"
    HISTORIAN = "historian", "Historian"
    MODERATOR = "moderator", "Moderator"
    ADMIN = "admin", "Administrator"


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VOLUNTEER)
    display_name = models.CharField(max_length=120, blank=True)
    bio = models.TextField(blank=True, max_length=2000)
    affiliation = models.CharField(max_length=200, blank=True)
    reputation = models.IntegerField(default=0)
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspended_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # The leaderboard.
            models.Index(fields=["-reputation"], name="profile_reputation"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.display_name or self.user.get_username()

    @property
    def is_historian(self) -> bool:
        return self.role == Role.HISTORIAN

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def is_moderator(self) -> bool:
        return self.role in (Role.MODERATOR, Role.ADMIN) or self.user.is_superuser


class VerificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"


class HistorianRequest(models.Model):
    """A volunteer's request to be verified as a historian, decided by a moderator."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="historian_requests")
    statement = models.TextField(max_length=4000, help_text="Credentials: position, publications, institution.")
    evidence_url = models.URLField(blank=True)
    status = models.CharField(max_length=10, choices=VerificationStatus.choices, default=VerificationStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            # One open request per person at a time.
            models.UniqueConstraint(
                fields=["user"], condition=Q(status="pending"), name="one_pending_historian_request"
            ),
        ]
        indexes = [
            # The moderators' queue: pending requests, oldest first.
            models.Index(fields=["status", "created_at"], name="historian_request_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.status})"


# --- corrections -------------------------------------------------------------------------------------


class CorrectionKind(models.TextChoices):
    HINTS = "hints", "Hints re-rendered by the model"
    MANUAL = "manual", "Manual colorization"


class CorrectionStatus(models.TextChoices):
    PENDING = "pending", "Pending review"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    SUPERSEDED = "superseded", "Superseded"
    REVOKED = "revoked", "Revoked"


class TrainingStatus(models.TextChoices):
    NONE = "", "Not accepted"
    PENDING = "pending", "Waiting to be added"
    ADDED = "added", "Added"
    FAILED = "failed", "Failed, will be retried"
    WITHDRAWN = "withdrawn", "Withdrawn"


def correction_label(kind: str, model_slug: str | None, model_version: str | None) -> str:
    """The visible disclosure of a correction's image (its render's model, when it has a render)."""
    if kind == CorrectionKind.MANUAL:
        return "Manually colorized by a volunteer · luminance from the original · colours are an interpretation"
    if model_slug is not None:
        return f"AI-colorized with volunteer hints · model {model_slug} v{model_version} · colours are an estimate"
    return "AI-colorized with volunteer hints · colours are an estimate"


class CorrectionQuerySet(models.QuerySet):
    def visible_to(self, user) -> CorrectionQuerySet:
        """Corrections a user may see: not hidden, on photos they may see (authors and staff see their own).

        The photo's rule (``PhotoQuerySet.visible_to``) is applied through the join to the photo
        rather than as a subquery: the same rows, and one join a page's ``select_related("photo")``
        shares (PostgreSQL planned the subquery form in ~0.8-1.8 ms on the correction page and queue).
        """
        from colorization.models import photo_visibility

        rule = photo_visibility(user, prefix="photo__")
        if rule is None:  # staff
            return self
        shown = Q(hidden_at__isnull=True)
        return self.filter(rule, shown | Q(author=user) if user.is_authenticated else shown)


class Correction(models.Model):
    """A volunteer's fix of a photo's colours: hints re-rendered by the model, or a manual colorization.

    A hints correction stores its full hint set (so it is reproducible) and the draft or
    correction it builds on; a worker renders it at full resolution as a ``Draft`` with
    purpose "correction" (``render``). A manual correction keeps the volunteer's upload
    untouched (``upload``) and stores ``image``: the ORIGINAL's luminance with the upload's
    chroma.
    """

    photo = models.ForeignKey("colorization.Photo", on_delete=models.CASCADE, related_name="corrections")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="corrections")
    kind = models.CharField(max_length=10, choices=CorrectionKind.choices)
    base_draft = models.ForeignKey(
        "colorization.Draft", null=True, blank=True, on_delete=models.SET_NULL, related_name="corrections"
    )
    base_correction = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="derived"
    )
    hints = models.JSONField(default=dict, blank=True)
    # A film clip's correction is of one keyframe (its frame number from 0, a keyframe of a stored
    # shot); its hints are in the clip's pixel coordinates. Null for a photo.
    frame = models.PositiveIntegerField(null=True, blank=True)
    render = models.OneToOneField(
        "colorization.Draft", null=True, blank=True, on_delete=models.SET_NULL, related_name="correction_render"
    )
    upload = models.FileField(max_length=300, blank=True, help_text="the manual colorization as uploaded")
    upload_sha256 = models.CharField(max_length=64, blank=True)
    image = models.FileField(max_length=300, blank=True, help_text="manual: original luminance + uploaded chroma")
    thumbnail = models.FileField(max_length=300, blank=True)
    luminance_difference = models.FloatField(
        null=True, blank=True, help_text="manual: mean |ΔL*| between the upload and the original"
    )
    note = models.TextField(max_length=4000, blank=True)

    status = models.CharField(max_length=12, choices=CorrectionStatus.choices, default=CorrectionStatus.PENDING)
    # Weighted tallies, kept in step with the votes inside the voting transaction.
    votes_up = models.PositiveIntegerField(default=0)
    votes_down = models.PositiveIntegerField(default=0)
    weight_up = models.FloatField(default=0.0)
    weight_down = models.FloatField(default=0.0)
    historian_votes = models.PositiveIntegerField(default=0)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )  # null with decided_at set: decided by the rule
    decision_reason = models.TextField(blank=True)
    # The community version this one replaced when it was accepted: what a revocation restores.
    replaced = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    # Gold standard: the photo's true colours are known; scored, never voted on or trained from.
    is_gold = models.BooleanField(default=False)
    gold_ciede2000 = models.FloatField(null=True, blank=True)
    gold_psnr = models.FloatField(null=True, blank=True)
    gold_baseline_ciede2000 = models.FloatField(null=True, blank=True, help_text="the grey image's score")

    # The training example an accepted correction adds (after commit; retried by beat until added).
    training_status = models.CharField(max_length=10, choices=TrainingStatus.choices, blank=True, default="")
    training_attempts = models.PositiveSmallIntegerField(default=0)
    training_error = models.TextField(blank=True)
    training_retry_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    hidden_at = models.DateTimeField(null=True, blank=True)

    objects = CorrectionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The community version: at most one accepted correction per photo, and per keyframe of
            # a film clip (a clip's community render uses every keyframe's accepted correction).
            models.UniqueConstraint(
                fields=["photo"],
                condition=Q(status="accepted", frame__isnull=True),
                name="one_community_version_per_photo",
            ),
            models.UniqueConstraint(
                fields=["photo", "frame"],
                condition=Q(status="accepted", frame__isnull=False),
                name="one_accepted_correction_per_keyframe",
            ),
            models.CheckConstraint(
                condition=~Q(base_draft__isnull=False, base_correction__isnull=False),
                name="correction_one_base",
            ),
        ]
        indexes = [
            # "Needs review": pending corrections, oldest first.
            models.Index(fields=["status", "created_at"], name="correction_queue"),
            # A photo's history on its page, newest first.
            models.Index(fields=["photo", "-created_at"], name="correction_photo_newest"),
            # "My contributions" and profiles.
            models.Index(fields=["author", "-created_at"], name="correction_author_newest"),
            # The Atom feed and gallery: newly accepted versions.
            models.Index(fields=["status", "-decided_at"], name="correction_decided"),
            # The beat task that retries training examples which could not be added.
            models.Index(fields=["training_status", "training_retry_at"], name="correction_training_retry"),
        ]

    def __str__(self) -> str:
        return f"Correction {self.pk} of photo {self.photo_id} by {self.author_id} ({self.status})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("correction-detail", args=[self.pk])

    @property
    def is_decided(self) -> bool:
        return self.status != CorrectionStatus.PENDING

    @property
    def result_file(self):
        """The colour image: the manual composite, or the worker's render once done."""
        if self.kind == CorrectionKind.MANUAL:
            return self.image or None
        if self.render_id and self.render.image:
            return self.render.image
        return None

    @property
    def label(self) -> str:
        render = self.render if self.render_id else None
        return correction_label(self.kind, render and render.model_slug, render and render.model_version)


class EvidenceKind(models.TextChoices):
    SOURCE = "source", "A source"
    INFERRED = "inferred", "Inferred by the volunteer (no source)"


class Evidence(models.Model):
    """A citation supporting a correction or a vote: text, and optionally a link or archive reference.

    On a hints correction a citation may name the hints it supports (``hints``: references such
    as ``"points/0"``, ``"strokes/2"``, ``"global"`` into the correction's hint set), and the
    volunteer may say instead that some hints are inferred (``kind`` inferred, no source).
    Historians verify or dispute sources (``SourceVerification``).
    """

    correction = models.ForeignKey(Correction, null=True, blank=True, on_delete=models.CASCADE, related_name="evidence")
    vote = models.ForeignKey("Vote", null=True, blank=True, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(max_length=10, choices=EvidenceKind.choices, default=EvidenceKind.SOURCE)
    text = models.CharField(max_length=1000)
    url = models.URLField(max_length=1000, blank=True)
    archive_reference = models.CharField(max_length=500, blank=True)
    hints = models.JSONField(default=list, blank=True)  # ["points/0", "strokes/1", "global"]
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(correction__isnull=False, vote__isnull=True)
                | Q(correction__isnull=True, vote__isnull=False),
                name="evidence_belongs_to_one",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:80]


class VerificationVerdict(models.TextChoices):
    VERIFIED = "verified", "Verified"
    DISPUTED = "disputed", "Disputed"


class SourceVerification(models.Model):
    """A historian's verdict on a correction's cited source, with a note; one per historian and source.

    A source with any "disputed" verdict counts as disputed: its hints' regions move from
    "documented" to "disputed" in the provenance overlay (``community.review.provenance``).
    The acceptance rule does not read these.
    """

    evidence = models.ForeignKey(Evidence, on_delete=models.CASCADE, related_name="verifications")
    historian = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    verdict = models.CharField(max_length=10, choices=VerificationVerdict.choices)
    note = models.TextField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["evidence", "historian"], name="one_verification_per_historian"),
        ]

    def __str__(self) -> str:
        return f"{self.historian_id} {self.verdict} evidence {self.evidence_id}"


class Ballot(models.Model):
    """What every vote carries: +1/-1, the voter's weight then, whether a historian cast it, a comment.

    One per person per subject (each subclass's unique constraint), changeable until the subject is
    decided; the tallies come from ``community.review.decisions.votes_tally``.
    """

    value = models.SmallIntegerField()
    weight = models.FloatField(help_text="the voter's weight when the vote was cast")
    is_historian = models.BooleanField(default=False)
    comment = models.TextField(max_length=4000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]


class Vote(Ballot):
    """+1/-1 on a correction's historical authenticity; one per person, changeable until decided."""

    correction = models.ForeignKey(Correction, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="votes")

    class Meta(Ballot.Meta):
        constraints = [
            models.UniqueConstraint(fields=["correction", "voter"], name="one_vote_per_person"),
            models.CheckConstraint(condition=Q(value__in=[1, -1]), name="vote_value_plus_or_minus_one"),
            models.CheckConstraint(condition=Q(weight__gte=0), name="vote_weight_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.voter_id} {self.value:+d} on {self.correction_id}"


class RevocationStatus(models.TextChoices):
    OPEN = "open", "Open for votes"
    REVOKED = "revoked", "Revoked"
    DECLINED = "declined", "Declined"


class Revocation(models.Model):
    """A request to take back an accepted correction, with a reason and evidence, and its outcome.

    A moderator revokes at once (``decided_by`` set); anyone else opens a request that the community
    votes on with the acceptance rule (quorum, historians, the Wilson bound; ``decided_by`` null when
    the rule decided). Votes and decisions happen under the correction's row lock, as for votes on
    the correction itself (``community.review.revocations``).
    """

    correction = models.ForeignKey(Correction, on_delete=models.CASCADE, related_name="revocations")
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="revocations_proposed"
    )
    reason = models.TextField(max_length=4000)
    evidence = models.JSONField(default=list, blank=True)  # [{"text", "url", "archive_reference"}]
    status = models.CharField(max_length=10, choices=RevocationStatus.choices, default=RevocationStatus.OPEN)
    votes_up = models.PositiveIntegerField(default=0)  # for revoking
    votes_down = models.PositiveIntegerField(default=0)
    weight_up = models.FloatField(default=0.0)
    weight_down = models.FloatField(default=0.0)
    historian_votes = models.PositiveIntegerField(default=0)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )  # null with decided_at set: decided by the rule
    decision_reason = models.TextField(blank=True)
    restored = models.ForeignKey(
        Correction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="the correction that became the community version again",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open request per correction at a time, and a correction is revoked once.
            models.UniqueConstraint(fields=["correction"], condition=Q(status="open"), name="one_open_revocation"),
            models.UniqueConstraint(fields=["correction"], condition=Q(status="revoked"), name="one_revocation"),
        ]
        indexes = [
            # The Atom feed, manifests' changelogs and exports: revocations, newest first.
            models.Index(fields=["status", "-decided_at"], name="revocation_decided"),
        ]

    def __str__(self) -> str:
        return f"Revocation {self.pk} of correction {self.correction_id} ({self.status})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("correction-detail", args=[self.correction_id]) + f"#revocation-{self.pk}"

    @property
    def restored_public_id(self) -> int | None:
        """The restored correction's id for public records (feed, exports): None once a moderator hid it."""
        if self.restored_id is None or self.restored.hidden_at is not None:
            return None
        return self.restored_id


class RevocationVote(Ballot):
    """+1 (revoke) / -1 (keep) on a revocation request; one per person, changeable while it is open."""

    revocation = models.ForeignKey(Revocation, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="revocation_votes")

    class Meta(Ballot.Meta):
        constraints = [
            models.UniqueConstraint(fields=["revocation", "voter"], name="one_revocation_vote_per_person"),
            models.CheckConstraint(condition=Q(value__in=[1, -1]), name="revocation_vote_plus_or_minus_one"),
            models.CheckConstraint(condition=Q(weight__gte=0), name="revocation_vote_weight_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.voter_id} {self.value:+d} on revocation {self.revocation_id}"


class ReputationReason(models.TextChoices):
    CORRECTION_ACCEPTED = "correction_accepted", "Correction accepted"
    CORRECTION_REVOKED = "correction_revoked", "Accepted correction revoked"
    VOTE_AGREED = "vote_agreed", "Vote agreed with the decision"
    GOLD_SCORED = "gold_scored", "Gold-standard correction scored"
    MODERATOR_ADJUSTMENT = "moderator_adjustment", "Moderator adjustment"


class ReputationEvent(models.Model):
    """One change of a person's reputation, with why; ``Profile.reputation`` is their running sum."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reputation_events")
    points = models.IntegerField()
    reason = models.CharField(max_length=30, choices=ReputationReason.choices)
    correction = models.ForeignKey(Correction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Awarding is idempotent: one event per person, reason and correction.
            models.UniqueConstraint(
                fields=["user", "reason", "correction"],
                condition=Q(correction__isnull=False),
                name="one_reputation_event_per_cause",
            ),
        ]
        indexes = [
            # A profile's reputation history.
            models.Index(fields=["user", "-created_at"], name="reputation_user_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.points:+d} ({self.reason})"


class GoldStandard(models.Model):
    """A photo whose true colours are known (a colour photograph shown to volunteers in greyscale)."""

    photo = models.OneToOneField("colorization.Photo", on_delete=models.CASCADE, related_name="gold_standard")
    marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=500, blank=True)
    # The colour photograph, untouched, under an unguessable key; never linked from a page or the API.
    truth = models.FileField(max_length=300, blank=True)
    truth_sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # gold_import is safe to re-run: the same colour file is one gold photo.
            models.UniqueConstraint(fields=["truth_sha256"], condition=~Q(truth_sha256=""), name="one_gold_per_truth"),
        ]

    def __str__(self) -> str:
        return f"Gold standard: photo {self.photo_id}"


# --- conversation and moderation -----------------------------------------------------------------------


class Comment(models.Model):
    """Plain text on a photo or a correction (escaped when shown)."""

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments")
    photo = models.ForeignKey(
        "colorization.Photo", null=True, blank=True, on_delete=models.CASCADE, related_name="comments"
    )
    correction = models.ForeignKey(Correction, null=True, blank=True, on_delete=models.CASCADE, related_name="comments")
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)
    hidden_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(photo__isnull=False, correction__isnull=True)
                | Q(photo__isnull=True, correction__isnull=False),
                name="comment_on_one_thing",
            ),
        ]
        indexes = [
            # Threads under a photo or a correction, oldest first.
            models.Index(fields=["photo", "created_at"], name="comment_photo_thread"),
            models.Index(fields=["correction", "created_at"], name="comment_correction_thread"),
        ]

    def __str__(self) -> str:
        return self.body[:80]


class Notification(models.Model):
    """Something a person should know: a vote on their correction, a decision, a reply."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    verb = models.CharField(max_length=40)  # "voted", "accepted", "rejected", "commented", ...
    text = models.CharField(max_length=500)
    url = models.CharField(max_length=500, blank=True)
    correction = models.ForeignKey(Correction, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The unread badge and the notifications page.
            models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox"),
        ]

    def __str__(self) -> str:
        return self.text


class ReportStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    DISMISSED = "dismissed", "Dismissed"


class Report(models.Model):
    """Someone flags a photo, a correction or a comment for moderators."""

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports")
    photo = models.ForeignKey("colorization.Photo", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    correction = models.ForeignKey(Correction, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField(max_length=2000)
    status = models.CharField(max_length=10, choices=ReportStatus.choices, default=ReportStatus.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(photo__isnull=False, correction__isnull=True, comment__isnull=True)
                | Q(photo__isnull=True, correction__isnull=False, comment__isnull=True)
                | Q(photo__isnull=True, correction__isnull=True, comment__isnull=False),
                name="report_about_one_thing",
            ),
        ]
        indexes = [
            # The moderators' queue: open reports, oldest first.
            models.Index(fields=["status", "created_at"], name="report_queue"),
        ]

    def __str__(self) -> str:
        return f"Report {self.pk} ({self.status})"


class ModerationAction(models.Model):
    """The audit log: every moderator action, append-only."""

    moderator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=40)  # "hide", "unhide", "suspend", "decide", "mark_gold", ...
    target_type = models.CharField(max_length=40)  # "photo", "correction", "comment", "user", "report", ...
    target_id = models.PositiveBigIntegerField()
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The audit log page, and "what happened to this thing".
            models.Index(fields=["-created_at"], name="moderation_newest"),
            models.Index(fields=["target_type", "target_id"], name="moderation_target"),
        ]

    def __str__(self) -> str:
        return f"{self.moderator_id} {self.action} {self.target_type}:{self.target_id}"


# --- collections -----------------------------------------------------------------------------------------


class Collection(models.Model):
    """A curated set of photos (for example "Dorothea Lange, 1936")."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collections")
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200)
    description = models.TextField(blank=True, max_length=5000)
    is_public = models.BooleanField(default=True)
    photos = models.ManyToManyField("colorization.Photo", through="CollectionItem", related_name="collections")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["owner", "slug"], name="collection_slug_per_owner")]

    def __str__(self) -> str:
        return self.title


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    photo = models.ForeignKey("colorization.Photo", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=500, blank=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["collection", "photo"], name="photo_once_per_collection")]

    def __str__(self) -> str:
        return f"{self.photo_id} in {self.collection_id}"


# --- gallery -------------------------------------------------------------------------------------------


class GalleryVersion(models.TextChoices):
    COMMUNITY = "community", "Community version (accepted correction)"
    DRAFT = "draft", "AI draft"
    NONE = "none", "Original only"


class GalleryEntry(models.Model):
    """What the public gallery shows for one photo, denormalized so that a gallery page is ONE
    indexed query on this table (joined to the photo by primary key) at any depth.

    Kept in step by ``community.gallery.entries.gallery_entry_update``, which the services that
    decide, hide and comment call, and ``community.receivers`` calls on colorization's events
    (uploads and metadata edits, finished drafts). ``endorsements`` is the "for" votes the community
    version was accepted with (votes close at the decision, so the number is final); ``comments``
    counts the visible comments on the photo and its corrections.
    """

    photo = models.OneToOneField(
        "colorization.Photo", primary_key=True, on_delete=models.CASCADE, related_name="gallery_entry"
    )
    is_public = models.BooleanField(default=True)  # the photo is not hidden
    created_at = models.DateTimeField()  # the photo's upload time
    genre = models.CharField(max_length=40)
    place = models.CharField(max_length=300, blank=True)
    source_archive = models.CharField(max_length=300, blank=True)
    year_from = models.PositiveSmallIntegerField(null=True, blank=True)
    year_to = models.PositiveSmallIntegerField(null=True, blank=True)
    search_text = models.TextField(blank=True)  # title, description and place, for full-text search

    version = models.CharField(max_length=10, choices=GalleryVersion.choices, default=GalleryVersion.NONE)
    version_thumbnail = models.CharField(max_length=300, blank=True)  # a storage key
    version_label = models.CharField(max_length=300, blank=True)
    correction = models.ForeignKey(Correction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    accepted_at = models.DateTimeField(null=True, blank=True)
    endorsements = models.PositiveIntegerField(default=0)
    comments = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "gallery entries"
        indexes = [
            # Gallery, sort=newest (the default): keyset on (created_at, photo_id) descending.
            models.Index(fields=["-created_at", "-photo"], condition=Q(is_public=True), name="gallery_newest"),
            # Gallery, genre=… sort=newest.
            models.Index(
                fields=["genre", "-created_at", "-photo"], condition=Q(is_public=True), name="gallery_genre_newest"
            ),
            # Gallery, archive=… sort=newest.
            models.Index(
                fields=["source_archive", "-created_at", "-photo"],
                condition=Q(is_public=True),
                name="gallery_archive_newest",
            ),
            # Gallery, decade=… / era=…: the overlap test on the year range.
            models.Index(fields=["year_from", "year_to"], condition=Q(is_public=True), name="gallery_years"),
            # Gallery, sort=endorsed: keyset on (endorsements, photo_id) descending.
            models.Index(fields=["-endorsements", "-photo"], condition=Q(is_public=True), name="gallery_endorsed"),
            # Gallery, sort=discussed: keyset on (comments, photo_id) descending.
            models.Index(fields=["-comments", "-photo"], condition=Q(is_public=True), name="gallery_discussed"),
            # (PostgreSQL only, in migration 0003_gallery: a GIN index on to_tsvector('simple', search_text)
            # for q=….)
        ]

    def __str__(self) -> str:
        return f"Gallery entry of photo {self.photo_id} ({self.version})"
