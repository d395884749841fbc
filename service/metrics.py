"""Prometheus metrics, owned by the app (no module-level metric objects).

Under ``triage serve`` each gunicorn worker is its own process with its own counters, so
prometheus_client runs in *multiprocess mode*: ``triage serve`` sets
``PROMETHEUS_MULTIPROC_DIR`` before anything imports prometheus_client, every worker writes
its values to files there, ``/metrics`` (answered by any one worker) adds up all of them,
and the master marks a worker's files dead when the worker exits. Without that variable
(tests, a single process) the app's own registry is exposed directly.

What is counted, and why:

* requests by route template and status, and latency per route — the service's health;
* evaluations per table, output and value — for enumerable outputs only (the disposition,
  red flags, likely causes), so a clinical lead can watch the case mix; free text (advice)
  would make one series per sentence and is left out;
* reloads and failed reloads per source file, and whether a file's last reload failed —
  a table stuck on its previous version is visible here as well as in /v1/tables and logs;
* audit writes that failed (each one answered 503).

Per-request counts are not written to prometheus_client as they happen: in multiprocess mode
every increment locks and writes an mmap'd file, and a request made eight of them (measured:
answering without them served 20% more requests). They are added up in a plain dictionary
(:class:`_Batch`) and written every :data:`FLUSH_SECONDS` by a background thread, before
every exposition of this process's metrics, and when the app is let go or the process exits.
A scrape may see another worker's latest counts a quarter of a second late; none is lost.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as mp

from engine.model import Model
from service.schema import is_enumerable

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.05, 0.1, 0.25, 1.0, 5.0)


class Metrics:
    """Every metric the service exports, registered in a registry of its own."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.multiprocess = "PROMETHEUS_MULTIPROC_DIR" in os.environ
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "triage_http_requests", "HTTP requests answered", ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "triage_http_request_duration_seconds", "Time to answer a request", ["route"],
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.evaluations = Counter(
            "triage_evaluations", "Evaluations answered with 200, per table",
            ["table_id"], registry=r,
        )
        self.output_values = Counter(
            "triage_evaluation_outputs", "Values of enumerable outputs in answered evaluations",
            ["table_id", "output", "value"], registry=r,
        )
        self.reloads = Counter(
            "triage_reloads", "Workbook loads attempted, by result", ["source", "result"],
            registry=r,
        )
        self.reload_failures = Counter(
            "triage_reload_failures", "Workbook loads that the gate refused", ["source"],
            registry=r,
        )
        self.reload_failing = Gauge(
            "triage_reload_failing", "1 while the file's last load failed (last good version "
            "still serving)", ["source"], registry=r, multiprocess_mode="livemax",
        )
        self.audit_failures = Counter(
            "triage_audit_failures", "Audit writes that failed (answered 503)", registry=r,
        )
        self.database_up = Gauge(
            "triage_audit_database_up", "1 while the audit database answers (0 when any "
            "worker finds it unavailable)", registry=r, multiprocess_mode="livemin",
        )
        self.source_missing = Gauge(
            "triage_table_source_missing", "1 while a table serves a version whose workbook is "
            "no longer in the tables folder", ["table_id"], registry=r,
            multiprocess_mode="livemax",
        )
        self.tables_served = Gauge(
            "triage_tables_served", "Tables being served", registry=r,
            multiprocess_mode="livemin",
        )
        self._missing_seen: set[str] = set()
        self._enumerable: dict[str, frozenset[str]] = {}
        # labelled series looked up once: ``labels()`` takes a lock and builds a key on every
        # call, and two to six of them run on every request. The label values come from the
        # app's own routes and tables, never from the request, so these stay small.
        self._series: dict[tuple[Any, ...], Any] = {}
        self._batch = _Batch()
        stop = threading.Event()
        self.flusher = threading.Thread(target=_write_every, name="metrics-flush",
                                        args=(self._batch, stop, FLUSH_SECONDS), daemon=True)
        self.flusher.start()
        # on close(), when the app is let go, or at exit: stop the thread, write what is left
        self._closer = weakref.finalize(self, _close, self._batch, stop, self.flusher)

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (metric, *labels)
        child = self._series.get(key)
        if child is None:
            child = self._series[key] = metric.labels(*labels)
        return child

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in _METHODS else "other"  # a client may invent any
        self._batch.count(self._child(self.requests, method, route, str(status)))
        self._batch.observe(self._child(self.latency, route), seconds)

    def observe_decision(self, model: Model, outputs: Mapping[str, Any]) -> None:
        """Count one answered evaluation and the value of each enumerable output."""
        table_id = model.about.table_id
        self._batch.count(self._child(self.evaluations, table_id))
        names = self._enumerable.get(model.version)
        if names is None:
            names = frozenset(
                t.name for t in model.tables
                if len(t.outputs) == 1 and t.aggregation is None and is_enumerable(t.outputs[0])
            )
            self._enumerable[model.version] = names
        for name in names:
            value = outputs.get(name)
            for item in value if isinstance(value, list) else [value]:
                self._batch.count(self._child(self.output_values, table_id, name, _label(item)))

    def observe_reload(self, source: str, ok: bool) -> None:
        self.reloads.labels(source, "ok" if ok else "failed").inc()
        if not ok:
            self.reload_failures.labels(source).inc()
        self.reload_failing.labels(source).set(0 if ok else 1)

    def observe_database(self, ok: bool) -> None:
        self.database_up.set(1 if ok else 0)

    def observe_tables(self, snapshot: Any) -> None:
        """After every change of the tables served: which serve without their workbook."""
        self.tables_served.set(len(snapshot.slots))
        missing = {k for k, slot in snapshot.slots.items() if slot.source_missing}
        for table_id in missing | self._missing_seen:
            self.source_missing.labels(table_id).set(1 if table_id in missing else 0)
        self._missing_seen |= missing

    def close(self) -> None:
        self._closer()

    def exposition(self) -> bytes:
        self._batch.write()
        if not self.multiprocess:
            return bytes(generate_latest(self.registry))
        registry = CollectorRegistry()
        mp.MultiProcessCollector(registry)
        return bytes(generate_latest(registry))


FLUSH_SECONDS = 0.25  # short enough that one write holds the GIL for well under a millisecond


class _Batch:
    """Counts and observations made since they were last written to prometheus_client."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[Any, int] = {}
        self._observations: list[tuple[Any, float]] = []

    def count(self, counter: Any) -> None:
        with self._lock:
            self._counts[counter] = self._counts.get(counter, 0) + 1

    def observe(self, histogram: Any, value: float) -> None:
        with self._lock:
            self._observations.append((histogram, value))

    def write(self) -> None:
        with self._lock:
            counts, self._counts = self._counts, {}
            observations, self._observations = self._observations, []
        for counter, amount in counts.items():
            counter.inc(amount)
        for histogram, value in observations:
            histogram.observe(value)


def _write_every(batch: _Batch, stop: threading.Event, seconds: float) -> None:
    while not stop.wait(seconds):
        batch.write()


def _close(batch: _Batch, stop: threading.Event, flusher: threading.Thread) -> None:
    stop.set()
    if flusher is not threading.current_thread():
        flusher.join(timeout=5)
    batch.write()


def _label(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def mark_process_dead(pid: int) -> None:
    """Called by the gunicorn master when a worker exits (multiprocess mode only)."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        mp.mark_process_dead(pid)
