"""Who may do what in the review work: the one place for the role and state checks.

Services call the ``require_*`` functions (they raise ``PermissionDenied``); pages, the API's
serializers and the ``is_moderator`` template tag ask ``is_moderator``. Who may vote on a
correction is decided by ``vote_refusal`` alone: the correction page (``can_vote``) uses it to
show or explain the form, and ``vote_cast`` uses it again under the correction's row lock.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied

from colorization.access import require_writer
from community.accounts.services import profile_for
from community.models import Correction, CorrectionStatus, Profile


def is_moderator(user) -> bool:
    """A signed-in moderator or administrator (role on the profile)."""
    if user is None or not user.is_authenticated:
        return False
    return profile_for(user).is_moderator


def suspension_refusal(user, doing: str) -> str | None:
    """The write check community adds to ``colorization.access`` (registered in ``CommunityConfig.ready``)."""
    if profile_for(user).is_suspended:
        return f"Your account is suspended; you cannot {doing}."
    return None


def require_active(user, doing: str) -> Profile:
    """A signed-in, not suspended person (``colorization.access.require_writer``), and their profile.

    ``doing`` completes "Sign in to …" in the refusal.
    """
    require_writer(user, doing)
    return profile_for(user)


def require_can_correct(user, photo) -> Profile:
    """The single rule for correcting a photo or a film clip's keyframe: a signed-in, not suspended
    person who may see the photo (``Photo.visible_to``: a photo a moderator hid is its owner's and
    staff's only, as on every page and in the API). Raises PermissionDenied; returns the profile."""
    profile = require_active(user, "submit corrections")
    if photo.hidden_at is not None and not type(photo).objects.visible_to(user).filter(pk=photo.pk).exists():
        raise PermissionDenied("This photo is hidden by a moderator; corrections are closed.")
    return profile


def require_moderator(user, message: str = "Only moderators can see this page.") -> None:
    """Moderator pages: anyone else gets 403."""
    if not is_moderator(user):
        raise PermissionDenied(message)


def require_active_moderator(user, doing: str = "moderate", message: str = "Only moderators can do this.") -> Profile:
    """Moderator actions: an active (not suspended) moderator."""
    profile = require_active(user, doing)
    if not profile.is_moderator:
        raise PermissionDenied(message)
    return profile


# --- votes ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoteRefusal:
    """Why a person may not vote on a correction now.

    ``forbidden`` refusals are about the person (403); the others about the correction's state (409).
    """

    # signed_out | suspended | own | gold | decided | hidden | not_rendered; revocations add
    # not_accepted | open | no_request
    code: str
    message: str

    @property
    def forbidden(self) -> bool:
        return self.code in ("signed_out", "suspended", "own")


def vote_refusal(user, correction: Correction, *, profile: Profile | None = None) -> VoteRefusal | None:
    """The single rule for voting: None when ``user`` may vote on ``correction`` now.

    Nobody votes on a correction that is hidden or whose photo is hidden, the photo's owner and
    the correction's author included; nor on their own correction, gold-standard corrections
    (they are scored), decided ones, or before the correction has a colour image. ``profile`` is
    the voter's, when the caller has read it already.
    """
    if user is None or not user.is_authenticated:
        return VoteRefusal("signed_out", "Sign in to vote.")
    if (profile or profile_for(user)).is_suspended:
        return VoteRefusal("suspended", "Your account is suspended; you cannot vote.")
    if correction.author_id == user.pk:
        return VoteRefusal("own", "You cannot vote on your own correction.")
    if correction.is_gold:
        return VoteRefusal(
            "gold", "Corrections of gold-standard photos are scored against the true colours, not voted on."
        )
    if correction.status != CorrectionStatus.PENDING:
        return VoteRefusal(
            "decided", f"Voting is closed: this correction is {correction.get_status_display().lower()}."
        )
    if correction.hidden_at is not None or correction.photo.hidden_at is not None:
        return VoteRefusal("hidden", "This correction or its photo is hidden by a moderator; votes are closed.")
    if correction.result_file is None:
        return VoteRefusal("not_rendered", "This correction is still rendering; vote once you can see it.")
    return None


def can_vote(user, correction: Correction, *, profile: Profile | None = None) -> tuple[bool, str]:
    """Whether ``user`` may vote now, and why not (shown instead of the form)."""
    refusal = vote_refusal(user, correction, profile=profile)
    return (True, "") if refusal is None else (False, refusal.message)


# --- revocations ---------------------------------------------------------------------------------------


# What can be revoked: the community version, and a version it superseded (its training example and
# the models trained on it are still there to withdraw and flag; revoking it restores nothing).
REVOCABLE = (CorrectionStatus.ACCEPTED, CorrectionStatus.SUPERSEDED)


def revoke_refusal(user, correction: Correction) -> VoteRefusal | None:
    """Whether a moderator may revoke ``correction`` now (the caller checked the role)."""
    if correction.author_id == user.pk:
        return VoteRefusal("own", "You cannot revoke your own correction; ask another moderator.")
    if correction.is_gold:
        return VoteRefusal("gold", "Corrections of gold-standard photos are scored, not accepted or revoked.")
    if correction.status not in REVOCABLE:
        return VoteRefusal(
            "not_accepted",
            f"Only an accepted correction (the community version or one it superseded) can be revoked; "
            f"this correction is {correction.get_status_display().lower()}.",
        )
    return None


def revocation_propose_refusal(user, correction: Correction, *, profile: Profile | None = None) -> VoteRefusal | None:
    """The single rule for asking to revoke: None when ``user`` may open a request on ``correction`` now.

    ``profile``: the user's, when the caller has read it (a page asks several rules).
    """
    if user is None or not user.is_authenticated:
        return VoteRefusal("signed_out", "Sign in to ask for a revocation.")
    if (profile or profile_for(user)).is_suspended:
        return VoteRefusal("suspended", "Your account is suspended; you cannot ask for a revocation.")
    if correction.is_gold:
        return VoteRefusal("gold", "Corrections of gold-standard photos are scored, not accepted or revoked.")
    if correction.status not in REVOCABLE:
        return VoteRefusal(
            "not_accepted",
            f"Only an accepted correction (the community version or one it superseded) can be revoked; "
            f"this correction is {correction.get_status_display().lower()}.",
        )
    if correction.hidden_at is not None or correction.photo.hidden_at is not None:
        return VoteRefusal("hidden", "This correction or its photo is hidden by a moderator.")
    if correction.revocations.filter(status="open").exists():
        return VoteRefusal("open", "A request to revoke this correction is already open; vote on it.")
    return None


def revocation_vote_refusal(user, correction: Correction, revocation, *, profile: Profile | None = None):
    """The single rule for voting on a revocation request: None when ``user`` may vote now.

    Neither the person who asked nor the correction's author votes (as nobody votes on their own
    correction); the request must be open and the correction still accepted and visible.
    """
    if user is None or not user.is_authenticated:
        return VoteRefusal("signed_out", "Sign in to vote.")
    if (profile or profile_for(user)).is_suspended:
        return VoteRefusal("suspended", "Your account is suspended; you cannot vote.")
    if revocation is None or correction.status not in REVOCABLE:
        return VoteRefusal("no_request", "There is no open request to revoke this correction.")
    if correction.author_id == user.pk:
        return VoteRefusal("own", "You cannot vote on revoking your own correction.")
    if revocation.proposed_by_id == user.pk:
        return VoteRefusal("own", "You asked for this revocation; others decide it.")
    if correction.hidden_at is not None or correction.photo.hidden_at is not None:
        return VoteRefusal("hidden", "This correction or its photo is hidden by a moderator; votes are closed.")
    return None


def can_revoke_by_hand(user, correction: Correction, *, profile: Profile | None = None) -> bool:
    """Whether the correction page offers ``user`` the moderator's revoke form."""
    if user is None or not user.is_authenticated:
        return False
    profile = profile or profile_for(user)
    return profile.is_moderator and not profile.is_suspended and revoke_refusal(user, correction) is None


def can_verify_sources(user, correction: Correction, *, profile: Profile | None = None) -> bool:
    """Whether ``user`` may mark ``correction``'s cited sources verified or disputed: an active
    historian who is not its author, on a correction and photo nobody hid
    (``provenance.source_verify`` enforces the same rule)."""
    if user is None or not user.is_authenticated:
        return False
    if correction.hidden_at is not None or correction.photo.hidden_at is not None:
        return False
    profile = profile or profile_for(user)
    return profile.is_historian and not profile.is_suspended and correction.author_id != user.pk
