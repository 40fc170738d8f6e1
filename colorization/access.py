"""Who may write: the one check every write service makes before it changes anything.

A suspended account must not write anywhere: not upload, ask for drafts, correct, vote, comment,
curate collections or edit its profile, whether it comes through the API, a form, a command or a
task. Suspension is a flag on community's ``Profile``, but colorization may not import community
(community builds on colorization, never the reverse). So the primitive lives here, at the bottom
of the dependency graph, and an app above it adds its reasons to refuse with
``register_write_check``: community registers its suspension check in ``CommunityConfig.ready()``,
so every write service of both apps asks the same question through ``require_writer`` and nobody
has to remember a second check. Community's ``permissions.require_active`` is this same call plus
the profile it hands back.

A refusal raises Django's ``PermissionDenied``: 403 with a JSON message in the API, a message on
the page in the forms.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied

# check(user, doing) -> a refusal message, or None when the check has no objection.
WriteCheck = Callable[[object, str], "str | None"]

_checks: list[WriteCheck] = []


def register_write_check(check: WriteCheck) -> None:
    """Add a reason to refuse writes (idempotent: registering twice keeps one)."""
    if check not in _checks:
        _checks.append(check)


def write_refusal(user, doing: str) -> str | None:
    """None when ``user`` may write now; otherwise why not. ``doing`` completes "Sign in to …"."""
    if user is None or not user.is_authenticated:
        return f"Sign in to {doing}."
    if not user.is_active:
        return f"This account is deactivated; you cannot {doing}."
    for check in _checks:
        refusal = check(user, doing)
        if refusal:
            return refusal
    return None


def require_writer(user, doing: str) -> None:
    """Raise ``PermissionDenied`` unless ``user`` may write now."""
    refusal = write_refusal(user, doing)
    if refusal:
        raise PermissionDenied(refusal)


def writer_required(doing: str):
    """A form view's writes ask ``require_writer`` before anything else (the form is not even read).

    The services ask again, so a view without it is still refused; asking first means a suspended
    account gets its refusal, not the form's complaints about the body it sent. Safe methods pass.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                require_writer(request.user, doing)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
