"""Text search for similar ideas: pg_trgm on PostgreSQL, FTS5 on SQLite.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE ideas_fts USING fts5(title, body, content='ideas', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "INSERT INTO ideas_fts(rowid, title, body) SELECT id, title, body FROM ideas",
    "CREATE TRIGGER ideas_fts_insert AFTER INSERT ON ideas BEGIN "
    "INSERT INTO ideas_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER ideas_fts_delete AFTER DELETE ON ideas BEGIN "
    "INSERT INTO ideas_fts(ideas_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER ideas_fts_update AFTER UPDATE OF title, body ON ideas BEGIN "
    "INSERT INTO ideas_fts(ideas_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO ideas_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS ideas_fts_update",
    "DROP TRIGGER IF EXISTS ideas_fts_delete",
    "DROP TRIGGER IF EXISTS ideas_fts_insert",
    "DROP TABLE IF EXISTS ideas_fts",
]
POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_ideas_title_trgm ON ideas USING gin (title gin_trgm_ops)",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS ix_ideas_title_trgm"]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    _run(POSTGRES_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP)


def downgrade() -> None:
    _run(POSTGRES_DOWN if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWN)
