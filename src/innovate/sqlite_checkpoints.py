"""SQLite's WAL checkpoints, run by a thread of their own instead of inside a commit.

In WAL mode a commit appends pages to the ``-wal`` file, and a checkpoint copies them back
into the database file and syncs it. By default SQLite runs one inside the commit that takes
the WAL past 1,000 pages. Innovate's SQLite statements run on the event loop's own thread
(``innovate.sqlite_driver``), so that commit held up every request and every socket of the
process for as long as the checkpoint and its fsync took, about once every hundred posts.

While the server runs, a thread checkpoints the WAL every ``CHECK_EVERY_SECONDS`` with
``PRAGMA wal_checkpoint(PASSIVE)``, which waits for nobody: writers go on appending while
it copies. The connections' own threshold is raised to ``FOREGROUND_PAGES``, so a commit
checkpoints only if the thread falls that far behind (a reader holding an old snapshot for
a long time), which keeps the WAL's size bounded all the same. One-off commands (the CLI)
run no thread: SQLite checkpoints when the last connection closes.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from innovate.background import running_beside

log = logging.getLogger("innovate.db")

CHECK_EVERY_SECONDS = 0.5
# 40 MB of 4 KiB pages: the WAL's size should the thread fall behind.
FOREGROUND_PAGES = 10_000


@dataclass(frozen=True)
class Checkpoint:
    """What one ``PRAGMA wal_checkpoint`` reported."""

    busy: bool          # another checkpoint was running (another process's)
    wal_frames: int     # frames in the WAL
    checkpointed: int   # of them, copied into the database file


def database_file(engine: AsyncEngine) -> str | None:
    """The file of a SQLite engine's database; None for PostgreSQL."""
    url = engine.url
    return url.database if url.get_backend_name() == "sqlite" else None


class Checkpointer:
    """One connection of its own, used from one thread only, that checkpoints the WAL."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.last: Checkpoint | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="innovate-wal")
        self._connection: sqlite3.Connection | None = None

    async def checkpoint(self) -> Checkpoint:
        self.last = await asyncio.get_running_loop().run_in_executor(self._executor, self._checkpoint)
        return self.last

    def _checkpoint(self) -> Checkpoint:
        if self._connection is None:
            # check_same_thread stays on: only the executor's one thread uses it.
            self._connection = sqlite3.connect(self.path, isolation_level=None)
        busy, frames, copied = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return Checkpoint(bool(busy), frames, copied)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


async def _run(checkpointer: Checkpointer, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await checkpointer.checkpoint()
        except sqlite3.Error:
            # A locked or briefly unreadable file: the next round tries again, and commits
            # still checkpoint past FOREGROUND_PAGES.
            log.exception("checkpointing the SQLite WAL failed")


@asynccontextmanager
async def wal_checkpoints(engine: AsyncEngine, interval: float = CHECK_EVERY_SECONDS) -> AsyncIterator[Checkpointer | None]:
    """Checkpoint a file SQLite database's WAL in the background while the block runs."""
    path = database_file(engine)
    if path is None:
        yield None
        return
    checkpointer = Checkpointer(path)
    try:
        async with running_beside(_run(checkpointer, interval), "innovate-wal-checkpoints"):
            yield checkpointer
    finally:
        await checkpointer.close()
