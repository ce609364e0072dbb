"""Site search over ideas and messages: full text on PostgreSQL, FTS5 on SQLite.

Ideas already have their FTS5 index on SQLite (0002); messages get theirs here, kept in
step by triggers. PostgreSQL gets expression indexes for ``to_tsvector('simple', ...)``,
the very expressions innovate.search.text matches on.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE messages_fts USING fts5(body, content='messages', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "INSERT INTO messages_fts(rowid, body) SELECT id, body FROM messages",
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS messages_fts_update",
    "DROP TRIGGER IF EXISTS messages_fts_delete",
    "DROP TRIGGER IF EXISTS messages_fts_insert",
    "DROP TABLE IF EXISTS messages_fts",
]
POSTGRES_UP = [
    "CREATE INDEX ix_ideas_text ON ideas USING gin (to_tsvector('simple', title || ' ' || body))",
    "CREATE INDEX ix_messages_text ON messages USING gin (to_tsvector('simple', body))",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS ix_messages_text", "DROP INDEX IF EXISTS ix_ideas_text"]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    _run(POSTGRES_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP)


def downgrade() -> None:
    _run(POSTGRES_DOWN if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWN)
