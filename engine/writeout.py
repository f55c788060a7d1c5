"""Writing an action's changes in as few statements as the database allows.

A reviewer's action usually changes a few columns of its case, its task and the task's clock and
appends one history event. The ORM's unit of work sends that as four statements (four round trips
on PostgreSQL) and spends more Python sorting them than the workflow step itself costs. For that
common shape `write_changes` builds the statements directly: on PostgreSQL one statement of
data-modifying CTEs, elsewhere one plain statement per row. The objects then read as freshly
loaded, so the ORM has nothing left to flush. Any other shape (new rows besides the one event,
deletions, changed relationships) is flushed by the ORM as usual.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import Connection, CursorResult, Dialect, Table, bindparam, func, insert, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import PASSIVE_NO_INITIALIZE
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.state import InstanceState

from engine.models import Case, CaseEvent, Task
from engine.models import Clock as ClockRow
from engine.models import _derive_clock_days

# Rows of these models may be written directly: their mappers have no other flush-time behaviour
# than the version counter (Case) and the day columns derived for the statistics (Clock).
_UPDATABLE = (Case, Task, ClockRow)


@dataclass
class _RowUpdate:
    state: InstanceState[Any]
    table: Table
    values: dict[str, Any]
    version: tuple[int, int] | None = None  # (expected, new) for the versioned case row


@dataclass
class _Plan:
    updates: list[_RowUpdate] = field(default_factory=list)
    event: CaseEvent | None = None
    event_values: dict[str, Any] = field(default_factory=dict)

    def shape(self) -> tuple[Any, ...]:
        return (tuple((u.table.name, tuple(u.values), u.version is not None) for u in self.updates),
                tuple(self.event_values))


def write_changes(session: Session) -> None:
    """Flush the session: directly when the changes have the common shape, else through the ORM."""
    plan = _plan(session)
    if plan is None:
        session.flush()
        return
    if not plan.updates and plan.event is None:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _write_in_one_statement(connection, plan)
    else:
        _write_row_by_row(connection, plan)
    _mark_written(session, plan)


def _plan(session: Session) -> _Plan | None:
    if session.deleted:
        return None
    new = list(session.new)
    if len(new) > 1 or (new and type(new[0]) is not CaseEvent):
        return None
    plan = _Plan()
    for obj in session.dirty:
        if type(obj) not in _UPDATABLE:
            return None
        if type(obj) is ClockRow:
            _derive_clock_days(None, None, obj)  # what the ORM's before_update would do
        update_ = _row_update(inspect(obj))
        if update_ is None:
            return None
        if update_.values:
            plan.updates.append(update_)
    if new:
        event_state = inspect(new[0])
        values = {attr.key: event_state.dict[attr.key] for attr in event_state.mapper.column_attrs
                  if attr.key in event_state.dict and attr.key != "id"}
        plan.event, plan.event_values = new[0], values
    # A stable order, so each shape compiles once.
    plan.updates.sort(key=lambda u: (u.table.name, u.state.key))
    return plan


_column_keys: dict[Any, frozenset[str]] = {}


def _row_update(state: InstanceState[Any]) -> _RowUpdate | None:
    """The changed columns of a persistent row, or None if it changed anything but plain columns."""
    mapper = state.mapper
    columns = _column_keys.get(mapper)
    if columns is None:
        columns = _column_keys.setdefault(mapper, frozenset(attr.key for attr in mapper.column_attrs))
    values: dict[str, Any] = {}
    for key in state.committed_state:
        if key not in columns:
            return None  # a relationship changed: leave it to the unit of work
        history = state.get_history(key, PASSIVE_NO_INITIALIZE)
        if history.added:
            values[key] = history.added[0]
    if state.expired_attributes & set(values):
        return None
    row = _RowUpdate(state, mapper.local_table, values)  # type: ignore[arg-type]
    if values and mapper.version_id_col is not None:
        version_key = mapper.get_property_by_column(mapper.version_id_col).key
        if version_key in values:
            return None  # the caller set the counter itself
        current = state.dict[version_key]
        row.version = (current, current + 1)
    return row


# ------------------------------------------------------------------ the statements, compiled once per shape


@dataclass(frozen=True)
class _Compiled:
    """A statement compiled for one dialect, sent with `exec_driver_sql`: SQLAlchemy's events (and so
    statement counts) still see it, but it skips the per-execution work of a Core statement (cache
    key, parameter construction), which costs more than the statement itself on SQLite."""

    sql: str
    positional: bool
    binds: tuple[tuple[str, Callable[[Any], Any] | None], ...]  # each parameter and its type's bind processor

    @classmethod
    def of(cls, statement: Any, dialect: Dialect) -> _Compiled:
        compiled = statement.compile(dialect=dialect)
        processors = compiled._bind_processors  # the processors Core itself applies (private, tested)
        names = compiled.positiontup if compiled.positional else list(compiled.bind_names.values())
        return cls(compiled.string, compiled.positional, tuple((name, processors.get(name)) for name in names))

    def execute(self, connection: Connection, params: dict[str, Any]) -> CursorResult[Any]:
        values = ((name, params[name] if process is None else process(params[name])) for name, process in self.binds)
        if self.positional:
            return connection.exec_driver_sql(self.sql, tuple(value for _name, value in values))
        return connection.exec_driver_sql(self.sql, dict(values))


_statements: dict[tuple[Any, ...], _Compiled] = {}


def _statement(connection: Connection, shape: tuple[Any, ...], build: Callable[[], Any]) -> _Compiled:
    key = (connection.dialect.name, *shape)
    compiled = _statements.get(key)
    if compiled is None:
        compiled = _statements.setdefault(key, _Compiled.of(build(), connection.dialect))
    return compiled


def _update_statement(table: Table, keys: tuple[str, ...], versioned: bool, prefix: str) -> Any:
    where = table.c.id == bindparam(f"{prefix}id", type_=table.c.id.type)
    values = {table.c[key]: bindparam(f"{prefix}{key}", type_=table.c[key].type) for key in keys}
    if versioned:
        where = where & (table.c.version == bindparam(f"{prefix}old_version", type_=table.c.version.type))
        values[table.c.version] = bindparam(f"{prefix}new_version", type_=table.c.version.type)
    return update(table).where(where).values(values)


def _insert_statement(keys: tuple[str, ...]) -> Any:
    table = CaseEvent.__table__
    return insert(table).values({table.c[key]: bindparam(f"e_{key}", type_=table.c[key].type) for key in keys})


def _parameters(plan: _Plan, prefixes: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for prefix, row in zip(prefixes, plan.updates):
        params[f"{prefix}id"] = row.state.identity[0]
        params.update({f"{prefix}{key}": value for key, value in row.values.items()})
        if row.version is not None:
            params[f"{prefix}old_version"], params[f"{prefix}new_version"] = row.version
    params.update({f"e_{key}": value for key, value in plan.event_values.items()})
    return params


def _write_in_one_statement(connection: Connection, plan: _Plan) -> None:
    """PostgreSQL: every update and the insert as CTEs of one statement, one round trip. Each CTE
    returns its row, so the statement's one result row says how many rows each of them touched."""
    prefixes = [f"u{i}_" for i in range(len(plan.updates))]

    def build() -> Any:
        ctes = [_update_statement(u.table, tuple(u.values), u.version is not None, p).returning(u.table.c.id).cte(p.rstrip("_"))
                for p, u in zip(prefixes, plan.updates)]
        columns = [select(func.count()).select_from(cte).scalar_subquery() for cte in ctes]
        if plan.event is not None:
            event_cte = _insert_statement(tuple(plan.event_values)).returning(CaseEvent.__table__.c.id).cte("e")
            columns.append(select(event_cte.c.id).scalar_subquery())
        return select(*columns)

    row = _statement(connection, ("one", plan.shape()), build).execute(connection, _parameters(plan, prefixes)).one()
    for count, update_ in zip(row, plan.updates):
        _check_one_row(count, update_)
    if plan.event is not None:
        plan.event.id = row[-1]


def _write_row_by_row(connection: Connection, plan: _Plan) -> None:
    """SQLite (no round trips to save): one plain statement per row, no unit of work."""
    for update_ in plan.updates:
        keys, versioned = tuple(update_.values), update_.version is not None
        statement = _statement(connection, ("row", update_.table.name, keys, versioned),
                               lambda: _update_statement(update_.table, keys, versioned, "r_"))
        _check_one_row(statement.execute(connection, _parameters(_Plan(updates=[update_]), ["r_"])).rowcount, update_)
    if plan.event is not None:
        keys = tuple(plan.event_values)
        statement = _statement(connection, ("event", keys), lambda: _insert_statement(keys))
        result = statement.execute(connection, {f"e_{k}": v for k, v in plan.event_values.items()})
        plan.event.id = result.lastrowid


def _check_one_row(count: int, update_: _RowUpdate) -> None:
    if count != 1:
        # What the ORM raises for a versioned row changed elsewhere (web/errors.py answers 409).
        raise StaleDataError(
            f"UPDATE statement on table '{update_.table.name}' expected to update 1 row(s); {count} were matched.")


def _mark_written(session: Session, plan: _Plan) -> None:
    """The objects now hold what their rows hold: nothing left for the ORM to flush."""
    for update_ in plan.updates:
        state = update_.state
        if update_.version is not None:
            version_key = state.mapper.get_property_by_column(state.mapper.version_id_col).key
            state.dict[version_key] = update_.version[1]
        # The unit of work ends a flush the same way (Session._register_persistent).
        state._commit_all(state.dict, session.identity_map)
    for obj in session.dirty:
        # `_plan` saw every dirty object: what is left was flagged modified with no net change.
        state = inspect(obj)
        state._commit_all(state.dict, session.identity_map)
    if plan.event is not None:
        # History events are write-only (never updated): the session need not keep this one.
        session.expunge(plan.event)
