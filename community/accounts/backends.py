"""The authentication backend: Django's ModelBackend, with the profile read in the same query.

Every signed-in page needs the visitor's profile (the header's role badges, the page's role checks).
``AuthenticationMiddleware`` reads the user once per request through ``get_user``; joining the
profile there saves a query on every signed-in request. ``viewer_profile`` takes the joined row;
write services still read the profile afresh (``profile_for``), inside their transaction.

The join is a compiled query (colorization/compiled_queries.py): building
``select_related("profile")`` through the ORM cost ~0.5 ms of CPU on every request, the compiled
statement ~0.07 ms (benchmarks/results/page_profile-*.md).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, ValidationError

from colorization.compiled_queries import CompiledQuery


def user_with_profile(user_id):
    """The user with this primary key, its profile already attached (None when there is no profile),
    or None when there is no such user."""
    model = get_user_model()
    try:
        pk = model._meta.pk.to_python(user_id)
    except ValidationError:  # a session naming a key of another type: nobody
        return None
    return _WITH_PROFILE.first(pk=pk)


_WITH_PROFILE = CompiledQuery(
    get_user_model(), lambda _, *, pk: get_user_model().objects.select_related("profile").filter(pk=pk)
)


class ProfileJoiningBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username, password, **kwargs)
        if user is None:
            # Stop here: the plain ModelBackend listed after this one only keeps sessions signed in
            # before this backend existed, and must not check the password a second time.
            raise PermissionDenied
        return user

    def get_user(self, user_id):
        user = user_with_profile(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
