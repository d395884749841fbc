"""The cases a replay lists — every down-triaged case, every refusal message with its first
request ids — kept in a temporary SQLite file instead of in memory.

Their number grows with the audit (51,084 down-triaged cases in a million made the main
process hold over 100 MB), so the main process keeps only ``held`` of them at a time and
writes the rest to a file in its own temporary folder, deleted by :meth:`Listed.close`. The
report reads them back in the order they came (stored order, as the replay hands them over),
the refusals most frequent first, as the in-memory lists were ordered.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

HELD = 5_000  # listed rows kept in memory before they are written (about 5 MB)
MAX_LISTED_REFUSALS = 20  # request ids kept per distinct refusal message

_SCHEMA = """
CREATE TABLE down (seq INTEGER PRIMARY KEY, row BLOB NOT NULL);
CREATE TABLE refusal (seq INTEGER PRIMARY KEY, message TEXT NOT NULL UNIQUE,
                      cases INTEGER NOT NULL, ids BLOB NOT NULL);
"""


class Listed:
    """Down-triaged cases and refusals of one replay, on disk past ``held`` rows."""

    def __init__(self, held: int = HELD) -> None:
        self.held = max(1, held)
        self.down_count = 0
        self.refused_count = 0
        self.peak_held = 0  # the most rows this object held in memory at once (for tests)
        self._down: list[bytes] = []
        self._refused: dict[str, list[Any]] = {}  # message -> [count, ids], not yet written
        self._folder = tempfile.TemporaryDirectory(prefix="triage-replay-")
        self.path = Path(self._folder.name) / "listed.sqlite3"
        self._db = sqlite3.connect(self.path)
        self._db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + _SCHEMA)

    def __enter__(self) -> Listed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Deletes the file (a second call does nothing)."""
        self._db.close()
        self._folder.cleanup()

    def add(self, down: list[dict[str, Any]], refused: dict[str, list[Any]]) -> None:
        """One batch's down-triaged cases (in stored order) and refusals
        (message -> [count, request ids])."""
        for case in down:
            self._down.append(orjson.dumps(case, default=str))
            self.down_count += 1
            self._note()
        for message, (count, ids) in refused.items():
            mine = self._refused.setdefault(message, [0, []])
            mine[0] += count
            mine[1].extend(ids[: MAX_LISTED_REFUSALS - len(mine[1])])
            self.refused_count += count
            self._note()

    def _note(self) -> None:
        held = len(self._down) + len(self._refused)
        self.peak_held = max(self.peak_held, held)
        if held >= self.held:
            self._write()

    def _write(self) -> None:
        with self._db:
            self._db.executemany("INSERT INTO down (row) VALUES (?)",
                                 ((row,) for row in self._down))
            for message, (count, ids) in self._refused.items():
                found = self._db.execute("SELECT cases, ids FROM refusal WHERE message = ?",
                                         (message,)).fetchone()
                if found is None:
                    self._db.execute("INSERT INTO refusal (message, cases, ids) VALUES (?, ?, ?)",
                                     (message, count, orjson.dumps(ids)))
                    continue
                kept = orjson.loads(found[1])
                kept.extend(ids[: MAX_LISTED_REFUSALS - len(kept)])
                self._db.execute("UPDATE refusal SET cases = ?, ids = ? WHERE message = ?",
                                 (found[0] + count, orjson.dumps(kept), message))
        self._down.clear()
        self._refused.clear()

    def down(self, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """The down-triaged cases in the order they were added, the first ``limit`` of them."""
        self._write()
        query = "SELECT row FROM down ORDER BY seq" + ("" if limit is None else " LIMIT ?")
        for (row,) in self._db.execute(query, () if limit is None else (limit,)):
            yield orjson.loads(row)

    def refusals(self, limit: int | None = None) -> Iterator[tuple[str, int, list[Any]]]:
        """``(message, cases, first request ids)``, most cases first, then first seen first."""
        self._write()
        query = ("SELECT message, cases, ids FROM refusal ORDER BY cases DESC, seq"
                 + ("" if limit is None else " LIMIT ?"))
        for message, count, ids in self._db.execute(query, () if limit is None else (limit,)):
            yield message, count, orjson.loads(ids)

    @property
    def refusal_messages(self) -> int:
        self._write()
        return int(self._db.execute("SELECT count(*) FROM refusal").fetchone()[0])
