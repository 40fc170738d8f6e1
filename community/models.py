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
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.display_name or self.user.get_username()

    @property
    def is_historian(self) -> bool:
        return self.role == Role.HISTORIAN

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
