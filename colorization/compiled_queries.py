"""Querysets compiled to SQL once, then run again with other keys.

Building a queryset and compiling it costs the ORM far more CPU than the database spends on the
statement. The photo page's main query took 1.3 ms of Python to build and compile and 0.1 ms to
run (benchmarks/results/page_profile-fourth-pass-2026-12-07.md). A page that runs the same few
queries on every view, with only primary keys changing, paid that on every request.

``CompiledQuery`` builds its queryset once per database connection and *shape*. The shape is
whatever decides the statement's text, such as a viewer's role. Sentinel integers stand in for the
keys while it builds. It records where the sentinels land among the statement's parameters, and
from then on it runs the statement with the real keys. Each row becomes the object the queryset
itself would have returned:
- a model instance, with its ``select_related`` objects and annotations;
- a dict for ``values()``;
- a tuple for ``values_list()``, or the value for ``flat=True``.

The queryset stays the one statement of the query, and of any rule in it (``photo_visibility``,
the comment thread's rule). Tests compare each compiled query with its queryset.

On PostgreSQL the statement is also prepared on its connection (``_cursor``), so the server plans
it once per connection rather than on every request (CHROMA_PREPARED_STATEMENTS).

Limits, checked when a statement is planned:
- keys are integers that the ORM passes to the database as parameters;
- building the queryset reads nothing from the database: a plan lives as long as its process, so
  whatever else it depends on must be in its shape (settings are read again when a test overrides
  them: ``setting_changed`` drops every plan);
- a key that would land in the SQL text, or reach the database as something else (a string), is
  refused;
- ``prefetch_related``, ``extra()``, related managers' known objects and reordered ``values()``
  fields are refused.

The plans are kept per connection object. Django gives each thread its own, so converters and
compilers are never shared between threads.
"""

from __future__ import annotations

import functools
import operator
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connections, router
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    QuerySet,
    ValuesIterable,
    ValuesListIterable,
    get_related_populators,
)
from django.dispatch import receiver

# Sentinels stand in for keys while a statement is planned: negative integers no key takes, inside
# a 32-bit column's range (Django turns a lookup outside a column's range into "no rows").
_SENTINEL = -1_999_917_000


@dataclass(frozen=True)
class _Plan:
    sql: str
    params: tuple
    slots: tuple[tuple[int, str], ...]  # (index among the parameters, name of the key)
    converters: tuple[tuple[int, tuple, object], ...]  # (column, its converters, its expression)
    connection: object
    using: str
    make: Callable[[list], object]  # a converted row -> what the queryset yields


_ALL: weakref.WeakSet = weakref.WeakSet()


class CompiledQuery:
    """``build(shape, **keys)`` returns the queryset; calling the compiled query with the same
    arguments returns the queryset's rows as a list, and ``first`` its first row or None. A key given
    as None is left out (an anonymous viewer's ``user_id``): the build gets its default, and the
    statement without it is planned as its own.

    ``model`` is the queryset's model. Its database is read through the router, as the queryset's is.
    """

    def __init__(self, model, build: Callable[..., QuerySet]):
        self.model = model
        self.build = build
        self._plans: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        _ALL.add(self)

    def __call__(self, shape: Hashable = None, **given: int | None) -> list:
        keys = {name: value for name, value in given.items() if value is not None}
        for name, value in keys.items():
            if type(value) is not int:
                raise TypeError(f"{name}={value!r}: a compiled query's keys are integers")
        using = router.db_for_read(self.model)
        connection = connections[using]
        plans = self._plans.get(connection)
        if plans is None:
            plans = self._plans[connection] = {}
        names = tuple(sorted(keys))
        plan = plans.get((shape, names))
        if plan is None:
            plan = plans[(shape, names)] = self._plan(shape, names, using)
        params = list(plan.params)
        for index, name in plan.slots:
            params[index] = keys[name]
        with _cursor(connection) as cursor:
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        if plan.converters:
            rows = [_converted(row, plan) for row in rows]
        return [plan.make(row) for row in rows]

    def first(self, shape: Hashable = None, **keys: int | None):
        """The first row, or None when there is none."""
        found = self(shape, **keys)
        return found[0] if found else None

    def _plan(self, shape, names: tuple[str, ...], using: str) -> _Plan:
        sentinels = {name: _SENTINEL - i for i, name in enumerate(names)}
        connection = connections[using]
        with connection.execute_wrapper(_no_reads):
            queryset = self.build(shape, **sentinels)
        if queryset.db != using:
            raise ValueError(f"the queryset reads {queryset.db!r}, the router says {using!r}")
        if queryset._prefetch_related_lookups or queryset._known_related_objects or queryset.query.extra_select:
            raise ValueError("a compiled query cannot prefetch, use extra() or a related manager's known objects")
        compiler = queryset.query.get_compiler(using=using)
        with connection.execute_wrapper(_no_reads):
            sql, params = compiler.as_sql()
        for name, sentinel in sentinels.items():
            if str(-sentinel) in sql:
                raise ValueError(f"the key {name!r} lands in the SQL text, not among its parameters")
        slots = tuple(
            (i, name)
            for i, param in enumerate(params)
            for name, sentinel in sentinels.items()
            if type(param) is int and param == sentinel
        )
        placed = {i for i, _ in slots}
        for i, param in enumerate(params):
            if i not in placed and any(str(-sentinel) in str(param) for sentinel in sentinels.values()):
                raise ValueError(
                    f"a key reaches the database as {param!r}, not as itself: compare it with an integer column"
                )
        fields = [column for column, _, _ in compiler.select[: compiler.col_count]]
        converters = tuple(
            (position, tuple(functions), expression)
            for position, (functions, expression) in compiler.get_converters(fields).items()
        )
        return _Plan(
            sql=sql,
            params=tuple(params),
            slots=slots,
            converters=converters,
            connection=connection,
            using=using,
            make=_maker(queryset, compiler, using),
        )


def _cursor(connection):
    """A cursor for a plan's statement. On PostgreSQL (CHROMA_PREPARED_STATEMENTS, on by default) the
    statement is bound on the server and prepared on the connection at its first run, so PostgreSQL
    plans it once per connection rather than on every request. Django's own cursors bind on the
    client and never prepare (its default keeps transaction-pooling proxies working: turn this off
    behind one that does not keep prepared statements). While queries are logged (DEBUG, a test
    counting them), Django's cursor runs them: the log needs their text, which a prepared run lacks."""
    if connection.vendor != "postgresql" or not settings.CHROMA_PREPARED_STATEMENTS or connection.queries_logged:
        return connection.cursor()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:  # Django's default turns preparing off altogether on the connection
        raw.prepare_threshold = _ONLY_WHEN_ASKED
    with connection.wrap_database_errors:
        cursor = _preparing_cursor_class()(raw)
    return connection._prepare_cursor(cursor)  # Django's wrapper: its errors, query log and execute wrappers


# Statements run this often are prepared unasked: never, in practice (Django's cursors bind on the client).
_ONLY_WHEN_ASKED = 2**31


@functools.cache
def _preparing_cursor_class():
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparingCursor


def _no_reads(execute, sql, params, many, context):
    raise ValueError(f"building a compiled query read the database ({sql[:80]}…): make that part of its shape")


@receiver(setting_changed, dispatch_uid="compiled_queries_setting_changed")
def _drop_plans(**kwargs) -> None:
    """A plan may hold a setting's value among its parameters: a changed setting (tests) drops them all."""
    for query in list(_ALL):
        query._plans = weakref.WeakKeyDictionary()


def _converted(row: tuple, plan: _Plan) -> list:
    row = list(row)
    for position, functions, expression in plan.converters:
        value = row[position]
        for convert in functions:
            value = convert(value, expression, plan.connection)
        row[position] = value
    return row


def _maker(queryset: QuerySet, compiler, using: str) -> Callable[[list], object]:
    """What turns a row into what the queryset's own iterable yields (see django.db.models.query)."""
    kind = queryset._iterable_class
    query = queryset.query
    if kind is ModelIterable:
        klass_info = compiler.klass_info
        model = klass_info["model"]
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        init_list = [column[0].target.attname for column in compiler.select[start:end]]
        populators = get_related_populators(klass_info, compiler.select, using)
        annotations = list((compiler.annotation_col_map or {}).items())

        def make(row):
            obj = model.from_db(using, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            for name, position in annotations:
                setattr(obj, name, row[position])
            return obj

        return make
    names = [*query.values_select, *query.annotation_select]
    if queryset._fields and list(queryset._fields) != names:
        raise ValueError(f"values fields {queryset._fields} come back as {names}: list them in that order")
    if kind is ValuesIterable:
        return lambda row: dict(zip(names, row, strict=True))
    if kind is ValuesListIterable:
        return tuple
    if kind is FlatValuesListIterable:
        return operator.itemgetter(0)
    raise ValueError(f"a compiled query cannot yield {kind.__name__} rows")
