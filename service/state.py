"""What one app holds: its tables, watcher, audit log and metrics, in ``app.extensions``.

Nothing lives in module globals, so every app made by :func:`service.create_app` (one per
gunicorn worker, one per test) is independent of every other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app

from service.audit import AuditLog
from service.database import Database
from service.metrics import Metrics
from service.registry import Registry
from service.versions import VersionStore
from service.watcher import Watcher

KEY = "triage"


@dataclass
class State:
    registry: Registry
    database: Database
    audit: AuditLog
    store: VersionStore
    metrics: Metrics
    watcher: Watcher | None
    openapi_cache: tuple[Any, dict[str, Any]] | None = None  # (snapshot, document)
    draining: bool = False  # set on SIGTERM: /readyz answers 503 while the queue drains

    def close(self) -> None:
        """Stop the watcher, metrics and database threads and close database connections
        (tests, shutdown)."""
        if self.watcher is not None:
            self.watcher.stop()
        self.metrics.close()
        self.audit.dispose()


def state() -> State:
    """The current app's state."""
    found: State = current_app.extensions[KEY]
    return found
