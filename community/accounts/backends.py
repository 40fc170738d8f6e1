"""The authentication backend: Django's ModelBackend, with the profile read in the same query.

Every signed-in page needs the visitor's profile (the header's role badges, the page's role checks).
``AuthenticationMiddleware`` reads the user once per request through ``get_user``; joining the
profile there saves a query on every signed-in request. ``viewer_profile`` takes the joined row;
write services still read the profile afresh (``profile_for``), inside their transaction.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied


class ProfileJoiningBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username, password, **kwargs)
        if user is None:
            # Stop here: the plain ModelBackend listed after this one only keeps sessions signed in
            # before this backend existed, and must not check the password a second time.
            raise PermissionDenied
        return user

    def get_user(self, user_id):
        model = get_user_model()
        try:
            user = model._default_manager.select_related("profile").get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
