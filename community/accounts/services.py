"""Write operations on accounts and roles."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from colorization.access import require_writer
from community.models import HistorianRequest, Profile, Role, VerificationStatus


def profile_for(user) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    profile.user = user  # the caller's object: ``is_moderator`` reads is_superuser without another query
    return profile


def viewer_profile(request) -> Profile | None:
    """The signed-in visitor's profile, read once per request (the header, role checks of the page)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    profile = getattr(request, "_chroma_profile", None)
    if profile is None or profile.user_id != user.pk:
        profile = request._chroma_profile = _joined_profile(user) or profile_for(user)
    return profile


def _joined_profile(user) -> Profile | None:
    """The profile read with the user (``ProfileJoiningBackend``), if it was and there is one."""
    related = get_user_model().profile.related
    return related.get_cached_value(user) if related.is_cached(user) else None


def role_set(*, user, role: str) -> Profile:
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}; choose one of: {', '.join(Role.values)}.")
    with transaction.atomic():
        profile = profile_for(user)
        profile.role = role
        profile.save(update_fields=["role"])
        if role == Role.ADMIN and not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
    return profile


def user_register(*, username: str, email: str, password: str):
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=username, email=email, password=password)
        Profile.objects.create(user=user)
    return user


def profile_update(*, user, display_name: str, affiliation: str, bio: str) -> Profile:
    """A person edits their own public profile (not while suspended)."""
    require_writer(user, "edit your profile")
    profile = profile_for(user)
    profile.display_name, profile.affiliation, profile.bio = display_name.strip(), affiliation.strip(), bio.strip()
    profile.full_clean(exclude=["user"])
    profile.save(update_fields=["display_name", "affiliation", "bio"])
    return profile


def historian_request_submit(*, user, statement: str, evidence_url: str = "") -> HistorianRequest:
    require_writer(user, "ask for verification")
    statement = statement.strip()
    if len(statement) < 20:
        raise ValidationError({"statement": "Describe your credentials in at least a sentence (20 characters)."})
    if profile_for(user).role in (Role.HISTORIAN, Role.MODERATOR, Role.ADMIN):
        raise ValidationError({"statement": "Your account already has this role or a higher one."})
    try:
        with transaction.atomic():
            return HistorianRequest.objects.create(user=user, statement=statement, evidence_url=evidence_url)
    except IntegrityError:
        raise ValidationError({"statement": "You already have a request waiting for a moderator."}) from None


def historian_request_decide(*, request: HistorianRequest, moderator, approve: bool, reason: str = "") -> None:
    require_writer(moderator, "decide verification requests")
    if not profile_for(moderator).is_moderator:
        raise PermissionDenied("Only moderators decide verification requests.")
    if request.user_id == moderator.pk:
        raise PermissionDenied("You cannot decide your own request.")
    with transaction.atomic():
        updated = HistorianRequest.objects.filter(pk=request.pk, status=VerificationStatus.PENDING).update(
            status=VerificationStatus.APPROVED if approve else VerificationStatus.DENIED,
            decided_by=moderator,
            decided_at=timezone.now(),
            reason=reason,
        )
        if updated != 1:
            raise ValidationError("This request has already been decided.")
        if approve:
            role_set(user=request.user, role=Role.HISTORIAN)
    request.refresh_from_db()
