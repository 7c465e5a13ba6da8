"""SQLite persistence: users, chat messages, orders and tasks.

Calls are synchronous and short (one small statement each), so the ASGI handlers call them directly;
a lock keeps one connection safe across the threads uvicorn may use.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ORDER_STATUSES = ("new", "accepted", "preparing", "ready", "delivered")
TASK_STATUSES = ("todo", "doing", "done")

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_salt BLOB NOT NULL,
    password_hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    sender_id INTEGER NOT NULL REFERENCES users(id),
    recipient_id INTEGER NOT NULL REFERENCES users(id),
    text TEXT NOT NULL,
    client_id TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_sender ON messages(sender_id, id);
CREATE INDEX IF NOT EXISTS messages_by_recipient ON messages(recipient_id, id);
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class User:
    id: int
    username: str


@dataclass(frozen=True)
class Message:
    id: int
    conversation_id: str
    sender_id: int
    recipient_id: int
    text: str
    client_id: str | None
    created_at: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Item:
    """An order or a task: both are versioned rows whose deletions stay as tombstones."""

    id: int
    title: str
    status: str
    version: int
    deleted: bool
    updated_at: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def conversation_id(user_a: int, user_b: int) -> str:
    """The id of the direct conversation between two users (order does not matter)."""
    low, high = sorted((user_a, user_b))
    return f"dm:{low}:{high}"


def _hash_password(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 50_000)


class Database:
    """The app's SQLite database."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        # With WAL, NORMAL survives a crash of the app (only a power cut may lose the last commits)
        # and saves an fsync per message.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # Users ---------------------------------------------------------------------------------------

    def ensure_user(self, username: str, password: str) -> User:
        """Create the user, or reset its password to `password`; return it."""
        salt = os.urandom(16)
        digest = _hash_password(password, salt)
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO users (username, password_salt, password_hash) VALUES (?, ?, ?)"
                " ON CONFLICT(username) DO UPDATE SET"
                " password_salt = excluded.password_salt, password_hash = excluded.password_hash",
                (username, salt, digest),
            )
            row = conn.execute("SELECT id, username FROM users WHERE username = ?", (username,))
            found = row.fetchone()
        return User(found["id"], found["username"])

    def check_password(self, username: str, password: str) -> User | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT id, username, password_salt, password_hash FROM users WHERE username = ?",
                (username,),
            ).fetchone()
        if row is None:
            return None
        if not hmac.compare_digest(_hash_password(password, row["password_salt"]), row["password_hash"]):
            return None
        return User(row["id"], row["username"])

    def user(self, user_id: int) -> User | None:
        with self._lock:
            row = self._conn.execute("SELECT id, username FROM users WHERE id = ?", (user_id,)).fetchone()
        return User(row["id"], row["username"]) if row else None

    def users(self) -> list[User]:
        with self._lock:
            rows = self._conn.execute("SELECT id, username FROM users ORDER BY id").fetchall()
        return [User(row["id"], row["username"]) for row in rows]

    # Chat ----------------------------------------------------------------------------------------

    def add_message(self, sender_id: int, recipient_id: int, text: str, client_id: str | None) -> Message:
        now = time.time()
        conv = conversation_id(sender_id, recipient_id)
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO messages (conversation_id, sender_id, recipient_id, text, client_id,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (conv, sender_id, recipient_id, text, client_id, now),
            )
            message_id = cursor.lastrowid
        assert message_id is not None
        return Message(message_id, conv, sender_id, recipient_id, text, client_id, now)

    def messages_since(self, user_id: int, since_id: int, limit: int = 500) -> list[Message]:
        """Messages the user sent or received with an id above `since_id`, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM messages WHERE id > ? AND (sender_id = ? OR recipient_id = ?) ORDER BY id LIMIT ?",
                (since_id, user_id, user_id, limit),
            ).fetchall()
        return [
            Message(
                row["id"],
                row["conversation_id"],
                row["sender_id"],
                row["recipient_id"],
                row["text"],
                row["client_id"],
                row["created_at"],
            )
            for row in rows
        ]

    def delete_messages(self, sender_id: int, containing: str) -> int:
        """Remove the user's own messages whose text contains `containing`; return how many."""
        with self._transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM messages WHERE sender_id = ? AND instr(text, ?) > 0", (sender_id, containing)
            )
        return cursor.rowcount

    # Orders and tasks ----------------------------------------------------------------------------

    def create_item(self, table: str, title: str, status: str) -> Item:
        table = _versioned_table(table)
        now = time.time()
        with self._transaction() as conn:
            version = self._next_version(conn, table)
            cursor = conn.execute(
                f"INSERT INTO {table} (title, status, version, updated_at) VALUES (?, ?, ?, ?)",
                (title, status, version, now),
            )
            item_id = cursor.lastrowid
        assert item_id is not None
        return Item(item_id, title, status, version, False, now)

    def update_item(self, table: str, item_id: int, *, status: str | None = None, deleted: bool = False) -> Item | None:
        """Set a new status (or delete); returns None if there is no such live item."""
        table = _versioned_table(table)
        now = time.time()
        with self._transaction() as conn:
            row = conn.execute(f"SELECT * FROM {table} WHERE id = ? AND deleted = 0", (item_id,)).fetchone()
            if row is None:
                return None
            version = self._next_version(conn, table)
            new_status = status or row["status"]
            conn.execute(
                f"UPDATE {table} SET status = ?, version = ?, deleted = ?, updated_at = ? WHERE id = ?",
                (new_status, version, int(deleted), now, item_id),
            )
        return Item(item_id, row["title"], new_status, version, deleted, now)

    def item(self, table: str, item_id: int) -> Item | None:
        table = _versioned_table(table)
        with self._lock:
            row = self._conn.execute(f"SELECT * FROM {table} WHERE id = ?", (item_id,)).fetchone()
        return _item(row) if row else None

    def items_since(self, table: str, since_version: int, limit: int = 500) -> list[Item]:
        """Items changed after `since_version` (tombstones included), in version order."""
        table = _versioned_table(table)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT * FROM {table} WHERE version > ? ORDER BY version LIMIT ?",
                (since_version, limit),
            ).fetchall()
        return [_item(row) for row in rows]

    @staticmethod
    def _next_version(conn: sqlite3.Connection, table: str) -> int:
        row = conn.execute(f"SELECT COALESCE(MAX(version), 0) + 1 AS v FROM {table}").fetchone()
        return int(row["v"])


def _versioned_table(name: str) -> str:
    # Table names cannot be bound as parameters; only these two are ever interpolated.
    if name not in ("orders", "tasks"):
        raise ValueError(f"no versioned table {name!r}")
    return name


def _item(row: sqlite3.Row) -> Item:
    return Item(
        row["id"],
        row["title"],
        row["status"],
        row["version"],
        bool(row["deleted"]),
        row["updated_at"],
    )
