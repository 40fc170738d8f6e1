"""The authentication backend: Django's ModelBackend, with the profile read in the same query.

Every signed-in page needs the visitor's profile (the header's role badges, the page's role checks).
``AuthenticationMiddleware`` reads the user once per request through ``get_user``; joining the
profile there saves a query on every signed-in request. ``viewer_profile`` takes the joined row;
write services still read the profile afresh (``profile_for``), inside their transaction.

The join is one fixed SQL statement built once per process from the two models' fields, and the
rows become model instances through ``Model.from_db`` (what the ORM itself calls): building the
same query through the ORM costs ~0.5 ms of CPU on every request, the statement ~0.07 ms
(benchmarks/results/page_profile-*.md).
"""

from __future__ import annotations

import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, router

from community.models import Profile


@functools.cache
def _plan(user_model, using: str) -> tuple[str, list[str], list[str], list[tuple]]:
    """The statement, the attribute names of its user columns and of its profile columns, and each
    column with its converters (what the ORM applies to a value read from this database; they are
    called with the calling thread's connection)."""
    connection = connections[using]
    user_fields = user_model._meta.concrete_fields
    profile_fields = Profile._meta.concrete_fields
    pk = user_model._meta.pk.column
    columns = [f'u."{f.column}"' for f in user_fields] + [f'p."{f.column}"' for f in profile_fields]
    sql = (
        f'SELECT {", ".join(columns)} FROM "{user_model._meta.db_table}" u '
        f'LEFT OUTER JOIN "{Profile._meta.db_table}" p ON p."{Profile._meta.get_field("user").column}" = u."{pk}" '
        f'WHERE u."{pk}" = %s'
    )
    converters = []
    for model, fields in ((user_model, user_fields), (Profile, profile_fields)):
        for field in fields:
            column = field.get_col(model._meta.db_table)
            converters.append((column, connection.ops.get_db_converters(column) + column.get_db_converters(connection)))
    return sql, [f.attname for f in user_fields], [f.attname for f in profile_fields], converters


def user_with_profile(user_id):
    """The user with this primary key, its profile already attached (None when there is no profile),
    or None when there is no such user."""
    model = get_user_model()
    try:
        pk = model._meta.pk.to_python(user_id)
    except ValidationError:  # a session naming a key of another type: nobody
        return None
    using = router.db_for_read(model)
    sql, user_names, profile_names, converters = _plan(model, using)
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(sql, [model._meta.pk.get_db_prep_value(pk, connection)])
        row = cursor.fetchone()
    if row is None:
        return None
    values = []
    for value, (column, column_converters) in zip(row, converters, strict=True):
        for convert in column_converters:
            value = convert(value, column, connection)
        values.append(value)
    n = len(user_names)
    user = model.from_db(using, user_names, values[:n])
    profile = None
    if values[n] is not None:  # the profile's primary key: there is one
        profile = Profile.from_db(using, profile_names, values[n:])
        profile.user = user
    model.profile.related.set_cached_value(user, profile)
    return user


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
