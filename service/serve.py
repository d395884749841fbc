"""``triage serve``: the app under gunicorn, with N worker processes.

Why processes and not threads: durable-rules' C engine keeps its rulesets in process-wide
handle tables that are not thread-safe, and a compiled table cannot be shared between
processes. So each worker builds its own app (``create_app`` runs in the worker, after the
fork — ``preload_app`` stays off), owns its own rulesets, watcher and database pool, and
evaluates each table under that table's lock. Throughput scales with workers, one per core.

The master process prepares what the workers share: a directory for prometheus_client's
multiprocess files (set in ``PROMETHEUS_MULTIPROC_DIR`` before any worker imports it), the
reload signal file through which ``/v1/admin/reload`` reaches every worker, the audit
table (created once here so that workers do not race to create it), and JSON logging.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from gunicorn.workers.sync import SyncWorker

from service import logs


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """gunicorn driven from Python: ``options`` are gunicorn settings, ``factory`` builds
    the WSGI app in each worker."""

    def __init__(self, factory: Callable[[], Any], options: Mapping[str, Any]) -> None:
        self.factory = factory
        self.options = dict(options)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        return self.factory()


class AppLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger without its access log. The app writes one JSON line per request
    itself, with the request id and route; gunicorn, given a logging configuration, would
    otherwise assemble its own access-log fields on every request only to drop them."""

    def access(self, *_args: Any, **_kwargs: Any) -> None:
        return None


def _child_exit(_server: Any, worker: Any) -> None:
    from service.metrics import mark_process_dead

    mark_process_dead(worker.pid)


def gunicorn_options(
    host: str, port: int, workers: int, threads: int = 1, log_level: str = "info"
) -> dict[str, Any]:
    """The gunicorn settings ``triage serve`` uses (the benchmark uses the same ones)."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread" if threads > 1 else "service.serve.DrainingSyncWorker",
        "threads": threads,
        "timeout": 60,
        "graceful_timeout": 10,
        "keepalive": 5,
        "preload_app": False,
        "accesslog": None,
        "logger_class": AppLogger,
        "loglevel": log_level,
        "logconfig_dict": logs.logging_config(log_level.upper()),
        "child_exit": _child_exit,
        "proc_name": "triage",
        "control_socket_disable": True,  # gunicorn >= 25; one path per user would collide
    }


def shared_directory() -> Path:
    """A fresh directory for the metrics files and the reload signal, removed when the
    master exits (not when a worker does: workers inherit the exit handler)."""
    # in memory where the system offers it: every metric update writes to an mmap'd file
    # there, and on a disk-backed folder the kernel would keep writing those pages back
    shm = Path("/dev/shm")
    where = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    folder = Path(tempfile.mkdtemp(prefix="triage-serve-", dir=where))
    (folder / "metrics").mkdir()
    master = os.getpid()

    def remove() -> None:
        if os.getpid() == master:
            shutil.rmtree(folder, ignore_errors=True)

    atexit.register(remove)
    return folder


def default_database_url() -> str:
    """The SQLite file in the app's instance folder (``instance/`` in a checkout)."""
    from flask import Flask

    from service.audit import default_url

    return default_url(Flask("service.app").instance_path)


def run(
    tables: str,
    host: str,
    port: int,
    workers: int,
    threads: int = 1,
    database_url: str | None = None,
    log_level: str = "info",
    release_only: bool = False,
) -> None:
    """Serve until stopped (SIGINT or SIGTERM). Does not return normally."""
    shared = shared_directory()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(shared / "metrics")
    url = database_url or default_database_url()
    config: dict[str, Any] = {
        "TABLES_DIR": tables,
        "DATABASE_URL": url,
        "ADMIN_TOKEN": os.environ.get("TRIAGE_ADMIN_TOKEN") or None,
        "API_TOKEN": os.environ.get("TRIAGE_API_TOKEN") or None,
        "RELOAD_SIGNAL_FILE": str(shared / "reload-signal"),
        "RECYCLE_AFTER_LOADS": int(os.environ.get("TRIAGE_RECYCLE_AFTER_LOADS", "1000")),
        "ON_RECYCLE": _recycle,
        "RELEASE_ONLY": release_only,
        **cds_settings(os.environ),
    }
    from service.audit import AuditLog
    from service.cds.store import CdsStore
    from service.config import settings
    from service.database import Database
    from service.versions import VersionStore

    checked = settings(config)  # a bad setting stops here, not in every worker
    database = Database(url, float(checked["AUDIT_WRITE_TIMEOUT"]))
    CdsStore(database, AuditLog(database, checked["AUDIT_TABLE"]), checked["STORE_PREFIX"])
    VersionStore(database, checked["STORE_PREFIX"])
    if not database.check():  # the workers keep trying; the service starts regardless
        logging.getLogger("service.serve").warning(
            "audit database unavailable at start-up: %s; evaluations are answered 503 until "
            "it is back", database.status.reason)
    database.dispose()  # no connection may cross the fork

    def factory() -> Any:
        import gc

        from service.app import create_app

        app = create_app(config)
        # what was loaded stays for the life of the worker: keep it out of every garbage
        # collection instead of scanning it again on each full one
        gc.freeze()
        return app

    import gunicorn.util

    gunicorn.util.write_error = _json_error  # gunicorn's own error pages, as JSON
    GunicornServer(factory, gunicorn_options(host, port, workers, threads, log_level)).run()


def cds_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """The CDS Hooks settings from the environment (docs/ehr.md): TRIAGE_PUBLIC_URL,
    TRIAGE_CDS_ISSUERS (a JSON file of trusted issuers), TRIAGE_CDS_VERIFY_JWT=off (development
    only: `make run`)."""
    found: dict[str, Any] = {}
    if environ.get("TRIAGE_PUBLIC_URL"):
        found["PUBLIC_URL"] = environ["TRIAGE_PUBLIC_URL"]
    if environ.get("TRIAGE_CDS_ISSUERS"):
        found["CDS_TRUSTED_ISSUERS"] = environ["TRIAGE_CDS_ISSUERS"]
    verify = environ.get("TRIAGE_CDS_VERIFY_JWT", "on").strip().lower()
    if verify not in ("on", "off", "1", "0", "true", "false", "yes", "no"):
        raise ValueError(f"TRIAGE_CDS_VERIFY_JWT must be on or off, not {verify!r}")
    found["CDS_VERIFY_JWT"] = verify in ("on", "1", "true", "yes")
    return found


def _recycle() -> None:
    """Replace this worker: the graceful SIGTERM gunicorn's own master would send. The worker
    finishes the request in hand and the queued connections (:class:`DrainingSyncWorker`),
    then exits, and the master starts a new one; the other workers serve meanwhile."""
    os.kill(os.getpid(), signal.SIGTERM)


def _json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own error answer, as JSON. gunicorn answers some requests before the app
    sees them — a request line over 4094 bytes (414), malformed headers (400), too many
    header fields (431), a bad chunk size — and writes those through
    ``gunicorn.util.write_error`` as an HTML page. The service promises JSON for every
    answer, so :func:`run` puts this function in its place (the only function of gunicorn's
    that the service replaces)."""
    from gunicorn.util import write_nonblock

    from service.jsontext import dumps

    request_id = logs.new_request_id()
    code = reason.lower().replace(" ", "_")
    body = dumps({"error": code, "message": mesg or reason, "request_id": request_id})
    data = body.encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            f"X-Request-ID: {request_id}\r\n\r\n")
    write_nonblock(sock, head.encode("latin-1") + data)


class DrainingSyncWorker(SyncWorker):  # type: ignore[misc]
    """gunicorn's sync worker, which on SIGTERM also answers the connections already waiting
    in the listen queue before it exits.

    gunicorn's own sync worker stops accepting as soon as SIGTERM arrives; the master then
    closes the listening socket, and every connection still queued there is reset, though
    the clients had been connected. This worker, once its loop ends, marks the app as
    draining (``/readyz`` answers 503, so a load balancer stops sending), then keeps
    accepting until the queue has stayed empty for :attr:`QUIET` seconds, within the graceful
    timeout. A connection that arrives after that last look is still reset: no server can
    answer a connection made after it stopped listening."""

    QUIET = 0.25

    def run(self) -> None:
        super().run()
        self._drain()

    def _drain(self) -> None:
        from service.state import KEY

        state = getattr(self.wsgi, "extensions", {}).get(KEY)
        if state is not None:
            state.draining = True
        deadline = time.monotonic() + max(1.0, self.cfg.graceful_timeout - 1.0)
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            served = False
            for listener in self.sockets:
                try:
                    client, addr = listener.accept()
                except OSError:  # nothing waiting (EAGAIN), or the socket is gone
                    continue
                client.setblocking(1)
                self.handle(listener, client, addr)
                served = True
            now = time.monotonic()
            if served:
                quiet_since = now
            elif now - quiet_since >= self.QUIET:
                return
            else:
                time.sleep(0.005)
