"""The application factory.

``create_app(config)`` builds one independent app: it checks the database (without failing
when it is down: the app then starts anyway, answers 503 for evaluations and keeps trying),
loads and gates every workbook of the tables folder and the version store's heads (so the app
is ready to serve when it returns), starts the folder watcher, and registers the blueprints
and the one error mapping. gunicorn calls it once in each worker process, after the fork: the
compiled durable-rules tables, the database connections and the threads all belong to that
one process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request

from service import admin, api, cds, errors, logs, ops, pages
from service.audit import AuditLog, default_url
from service.config import settings
from service.database import Database, DatabaseUnavailable
from service.metrics import Metrics
from service.registry import FileStatus, Registry
from service.state import KEY, State, state
from service.versions import VersionStore
from service.watcher import Watcher

request_log = logging.getLogger("service.request")
boot_log = logging.getLogger("service.app")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides :data:`service.config.DEFAULTS`."""
    app = Flask(__name__)
    app.config.update(settings(config))
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    config_ = app.config
    metrics = Metrics()
    database = Database(config_["DATABASE_URL"] or default_url(app.instance_path),
                        float(config_["AUDIT_WRITE_TIMEOUT"]),
                        float(config_["DATABASE_CHECK_INTERVAL"]))
    audit = AuditLog(database, config_["AUDIT_TABLE"])
    store = VersionStore(database, config_["STORE_PREFIX"])
    cds_ = cds.attach(database, audit, config_)  # its tables are made with the others
    database.on_status = metrics.observe_database
    database.start()  # checks once now; never fails: a database that is down is retried

    def reloaded(status: FileStatus) -> None:
        if not status.missing:
            metrics.observe_reload(status.source, status.ok)

    registry = Registry(
        Path(config_["TABLES_DIR"]),
        keep_previous=config_["KEEP_PREVIOUS_VERSIONS"],
        use_validator=config_["GATE_WITH_VALIDATOR"],
        release_only=bool(config_["RELEASE_ONLY"]),
        on_reload=reloaded,
        store=store,
        on_change=metrics.observe_tables,
    )
    began = time.perf_counter()
    try:
        registry.sync()  # the heads first: a pinned or newer version serves from the start
    except DatabaseUnavailable:
        pass
    synced = time.perf_counter()
    registry.scan()
    boot_log.info("tables ready", extra={
        "tables": sorted(registry.snapshot.slots), "store_s": round(synced - began, 3),
        "folder_s": round(time.perf_counter() - synced, 3),
        "database": database.status.as_dict()})
    watcher = None
    if config_["WATCH"]:
        signal = config_["RELOAD_SIGNAL_FILE"]
        watcher = Watcher(registry, float(config_["WATCH_INTERVAL"]),
                          Path(signal) if signal else None,
                          float(config_["STORE_SYNC_INTERVAL"]),
                          int(config_["RECYCLE_AFTER_LOADS"]), config_["ON_RECYCLE"])
        watcher.start()
    app.extensions[KEY] = State(registry, database, audit, store, metrics, watcher)

    errors.register(app)
    app.before_request(_begin)
    app.after_request(_finish)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(ops.bp)
    app.register_blueprint(pages.bp)  # after ops: the HTML pages, and / for browsers
    cds.register(app, cds_)
    return app


def _begin() -> None:
    g.request_id = logs.new_request_id()
    g.correlation_id = logs.correlation_id()
    g.started = time.perf_counter()


def _finish(response: Response) -> Response:
    """Request id header, metrics and the request's log line, for every answer (errors too)."""
    request_id = g.get("request_id")
    if request_id is None:  # an error before _begin ran
        _begin()
        request_id = g.request_id
    if request.method == "OPTIONS" and not response.is_json:  # Flask's own: empty text/html
        allow = response.headers.get("Allow", "")
        response = jsonify(allow=[m.strip() for m in allow.split(",") if m.strip()],
                           request_id=request_id)
        response.headers["Allow"] = allow
    response.headers["X-Request-ID"] = request_id
    seconds = time.perf_counter() - g.started
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    state().metrics.observe_request(request.method, route, response.status_code, seconds)
    if current_app.config["LOG_REQUESTS"]:
        request_log.info(
            "%s %s %s", request.method, route, response.status_code,
            extra={"method": request.method, "path": request.path[:200], "route": route,
                   "status": response.status_code, "duration_ms": round(seconds * 1000, 3),
                   "table_id": g.get("table_id")},
        )
    return response

