"""The API's door for writes: ``access.write_refusal`` asked before the body is read.

DRF checks permissions in ``initial()``, before the view parses or validates anything, so a
suspended account posting a broken body gets its 403, not a 400 about the body. The rule itself is
``colorization.access`` (the services ask it again); a view names what it writes in ``writes``
("upload photos"), the words the refusal uses. Anonymous callers get DRF's 401.
"""

from __future__ import annotations

from rest_framework import permissions

from colorization.access import write_refusal


class MayWrite(permissions.BasePermission):
    """Safe methods pass; anything else only for someone who may write now."""

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        refusal = write_refusal(request.user, getattr(view, "writes", "change anything"))
        if refusal:
            self.message = refusal
            return False
        return True


def public_reads_checked_writes(request) -> list[permissions.BasePermission]:
    """For views anyone reads: ``AllowAny`` on safe methods (so the schema marks them public), ``MayWrite`` else."""
    return [permissions.AllowAny()] if request.method in permissions.SAFE_METHODS else [MayWrite()]
