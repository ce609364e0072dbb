"""The SQL statements an app's engine runs while a test looks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event


@contextmanager
def recorded_statements(resources: Any) -> Iterator[list[str]]:
    """Each statement the engine sends, its whitespace folded to single spaces."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(resources.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(resources.engine.sync_engine, "before_cursor_execute", record)
