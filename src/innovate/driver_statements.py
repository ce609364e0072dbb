"""Statements that run on the driver's own connection (asyncpg), past SQLAlchemy's execution.

For the few statements that run on every request of a kind (the two of a vote), SQLAlchemy's
session, result and ORM loading cost several times what the driver does to send them and
read the answer. Here a Core statement is compiled once per dialect; running it passes the
parameters in the compiled order through their types' bind processors, and converts the
row's values with their types' result processors. So the values are exactly those SQLAlchemy
would hand over, and the SQL is still written, checked and typed as Core.

Only public interfaces are used here: ``Compiled.positiontup`` and ``binds``,
``TypeEngine.dialect_impl()``, ``bind_processor()`` and ``result_processor()``, a pooled
connection's ``driver_connection``, and asyncpg's ``prepare()`` and ``get_attributes()``.

Model instances built from such a row (:class:`ModelColumns`) are snapshots that no session
knows: for checks and answers, never to be added to a session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Column, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.selectable import Select, TextualSelect

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the bind parameters, in the order the SQL numbers them
    binds: tuple[Processor, ...]
    results: tuple[Processor, ...]


class DriverStatement:
    """A ``select()`` (or ``text().columns()``) to run on the driver's connection: compiled
    on first use for the dialect, then only its parameters and its row are processed."""

    def __init__(self, statement: Select[Any] | TextualSelect) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    async def compiled(self, driver: Driver) -> _Compiled:
        dialect = driver.dialect
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            sql = str(compiled)
            names = tuple(compiled.positiontup or ())
            binds = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
            # A result processor may depend on the column's type in the database (a float
            # column is read differently from a numeric one): the driver describes the
            # statement once, as a cursor's description does for SQLAlchemy.
            described = await driver.connection.prepare(sql)
            results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, attribute.type.oid)
                            for column, attribute in zip(self.statement.selected_columns,
                                                         described.get_attributes(), strict=True))
            found = self._compiled[dialect.name] = _Compiled(sql, names, binds, results)
        return found


class Driver:
    """The driver's connection of one pooled connection, in autocommit: each statement is a
    transaction of its own (``SessionFactory.driver()``)."""

    def __init__(self, connection: Any, dialect: Dialect) -> None:
        self.connection = connection
        self.dialect = dialect
        # A statement failed other than by the database refusing it (the connection went, a
        # timeout, a cancellation mid-statement): the connection is not to be reused.
        self.broken = False

    async def row(self, statement: DriverStatement, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The statement's first row, its values converted as SQLAlchemy converts them."""
        compiled = await statement.compiled(self)
        args = [params[name] if process is None else process(params[name])
                for name, process in zip(compiled.names, compiled.binds, strict=True)]
        try:
            record = await self.connection.fetchrow(compiled.sql, *args)
        except asyncpg.PostgresError:
            # Refused by the database: the connection is fine (no transaction is open),
            # unless the refusal was the server closing it.
            self.broken = self.connection.is_closed()
            raise
        except BaseException:
            self.broken = True
            raise
        if record is None:
            return None
        return tuple(value if process is None or value is None else process(value)
                     for value, process in zip(record, compiled.results, strict=True))


class ModelColumns:
    """The mapped columns of several models, to select in one statement, and a row of them
    split back into one instance per model (None where an outer join found nothing)."""

    def __init__(self, *models: type[Any]) -> None:
        self.columns: list[ColumnElement[Any]] = []
        self._layout: list[tuple[type[Any], tuple[str, ...], int, int]] = []
        for model in models:
            mapper = inspect(model)
            attributes = list(mapper.column_attrs)
            if not all(isinstance(attr.columns[0], Column) for attr in attributes):
                # A SQL expression mapped as an attribute would be missing from the snapshot.
                raise ValueError(f"{model.__name__} maps a column property that is not a table column")
            keys = tuple(attr.key for attr in attributes)
            primary = keys.index(mapper.get_property_by_column(mapper.primary_key[0]).key)
            self._layout.append((model, keys, len(self.columns), primary))
            self.columns.extend(attr.columns[0] for attr in attributes)

    def instances(self, row: Sequence[Any]) -> list[Any]:
        found: list[Any] = []
        for model, keys, start, primary in self._layout:
            values = row[start:start + len(keys)]
            if values[primary] is None:
                found.append(None)
                continue
            instance = model()
            # Straight into the instance's dict, as the ORM populates a loaded instance: the
            # values are loaded state, not changes.
            instance.__dict__.update(zip(keys, values, strict=True))
            found.append(instance)
        return found
