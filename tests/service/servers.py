"""Helpers for tests that drive the real ``triage serve``: start it on a free port of
127.0.0.1, call it, keep it under load from client threads while a fault is made, and read
the audit rows back from the database itself.

:class:`Load` records every answer (status, content type, request id, time). Its
:meth:`Load.check` holds what every fault test asserts: no 500, no answer that is not JSON,
and every 200 with exactly one audit row carrying its request id.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.service.conftest import ADMIN_TOKEN, TABLE, WORKBOOK, example_facts

HOST = "127.0.0.1"
EVALUATE = f"/v1/tables/{TABLE}/evaluate"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Answer:
    status: int  # 0: no answer (connection refused or reset)
    kind: str
    body: Any
    seconds: float
    at: float  # monotonic time the answer came


class Serve:
    """One ``triage serve`` process group."""

    def __init__(self, workdir: Path, database_url: str, tables: Path | None = None,
                 workers: int = 2, env: dict[str, str] | None = None,
                 extra: Iterable[str] = ()) -> None:
        self.workdir = workdir
        self.database_url = database_url
        self.tables = tables or workdir / "tables"
        if tables is None:
            self.tables.mkdir(parents=True, exist_ok=True)
            shutil.copy(WORKBOOK, self.tables / WORKBOOK.name)
        self.port = free_port()
        self.log = workdir / f"serve-{self.port}.log"
        triage = Path(sys.executable).with_name("triage")
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(triage), "serve", "--tables", str(self.tables), "--host", HOST,
                 "--port", str(self.port), "--workers", str(workers),
                 "--database-url", database_url, *extra],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "TRIAGE_ADMIN_TOKEN": ADMIN_TOKEN, **(env or {})},
            )

    def wait(self, path: str = "/healthz", status: int = 200, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"triage serve exited:\n{self.tail()}")
            try:
                if self.call("GET", path).status == status:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{path} did not answer {status} within {within} s:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def call(self, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None, raw: bytes | None = None,
             timeout: float = 15) -> Answer:
        started = time.monotonic()
        connection = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            data = raw if raw is not None else (
                json.dumps(body).encode() if body is not None else None)
            sent = {"Content-Type": "application/json", **(headers or {})}
            connection.request(method, path, body=data, headers=sent)
            answer = connection.getresponse()
            payload = answer.read()
            kind = answer.getheader("Content-Type", "")
            parsed = json.loads(payload) if "json" in kind else payload.decode(errors="replace")
            return Answer(answer.status, kind, parsed, time.monotonic() - started,
                          time.monotonic())
        finally:
            connection.close()

    def evaluate(self, **headers: str) -> Answer:
        return self.call("POST", EVALUATE, {"facts": example_facts()}, headers)

    def workers(self) -> list[int]:
        """The worker processes' pids (children of the master)."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(stat[1]) == self.process.pid:
                    found.append(int(entry.name))
        return sorted(found)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Load:
    """Client threads evaluating in a loop until stopped; every answer is kept."""

    server: Serve
    threads: int = 2
    pause: float = 0.0
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _running: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Load:
        for _ in range(self.threads):
            thread = threading.Thread(target=self._run, daemon=True)
            thread.start()
            self._running.append(thread)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._running:
            thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                answer = self.server.evaluate()
            except (OSError, http.client.HTTPException) as error:
                answer = Answer(0, "", repr(error), 0.0, time.monotonic())
            except ValueError as error:  # an answer that is not the JSON it says it is
                answer = Answer(-1, "", repr(error), 0.0, time.monotonic())
            self.answers.append(answer)
            if self.pause:
                time.sleep(self.pause)

    def statuses(self) -> Counter[int]:
        return Counter(a.status for a in self.answers)

    def ok_ids(self) -> list[str]:
        return [a.body["request_id"] for a in self.answers if a.status == 200]

    def recovered_at(self, after: float) -> float | None:
        """When the first 200 came after ``after`` (monotonic), if one did."""
        times = [a.at for a in self.answers if a.status == 200 and a.at >= after]
        return min(times) if times else None

    def check(self, rows: Callable[[], list[str]], sent_after: float = 0.0,
              killed: int = 0) -> dict[str, Any]:
        """No 500, nothing but JSON, and every 200 stored exactly once. ``rows`` gives the
        request ids of the stored rows; with ``sent_after`` only the 200s of requests sent
        after that moment must be there (the fault itself destroyed the rows before it).
        A worker killed with SIGKILL drops the one request it was answering, if any: at most
        ``killed`` requests may go unanswered. Returns the figures for the report."""
        statuses = self.statuses()
        assert not [s for s in statuses if s >= 500 and s != 503 or s < 0], (
            statuses, [a.body for a in self.answers if a.status < 0][:3])
        assert statuses.get(0, 0) <= killed, [a.body for a in self.answers if a.status == 0][:3]
        bad_kind = [a for a in self.answers if a.status and "application/json" not in a.kind]
        assert not bad_kind, bad_kind[:3]
        stored = Counter(rows())
        ok = [a.body["request_id"] for a in self.answers
              if a.status == 200 and a.at - a.seconds > sent_after]
        missing = [i for i in ok if stored[i] != 1]
        assert not missing, f"{len(missing)} answers of 200 without exactly one row"
        refused = [a.at for a in self.answers if a.status == 503]
        outage = round(max(refused) - min(refused), 2) if refused else 0.0
        return {"outage_s": outage, "requests": len(self.answers), "ok": statuses.get(200, 0),
                "unavailable": statuses.get(503, 0), "no_answer": statuses.get(0, 0),
                "checked_200s": len(ok), "rows_for_them": len(ok) - len(missing)}


def sqlite_request_ids(*paths: Path, table: str = "evaluations") -> list[str]:
    """Request ids in the audit table of each SQLite file (read-only: no new file made)."""
    found: list[str] = []
    for path in paths:
        if not path.exists():
            continue
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            found += [r[0] for r in connection.execute(f"SELECT request_id FROM {table}")]
        except sqlite3.OperationalError:
            pass  # no table (yet)
        finally:
            connection.close()
    return found


def database_request_ids(url: str, table: str = "evaluations") -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [r[0] for r in connection.exec_driver_sql(f"SELECT request_id FROM {table}")]
    except sa.exc.SQLAlchemyError:
        return []
    finally:
        engine.dispose()


REPORT_ENV = "TRIAGE_FAULT_REPORT"


def report(fault: str, backend: str, figures: dict[str, Any]) -> None:
    """Append one line of figures to the file named by TRIAGE_FAULT_REPORT (for
    docs/reliability.md), and print it."""
    line = json.dumps({"fault": fault, "backend": backend, **figures})
    print(line)
    target = os.environ.get(REPORT_ENV)
    if target:
        with open(target, "a") as out:
            out.write(line + "\n")


def facts_with(facts: dict[str, object], name: str, escaped: str) -> str:
    return json.dumps({**facts, name: "@@"}).replace('"@@"', f'"{escaped}"')


def chunked_over_limit(port: int) -> int:
    """Send 2 MiB in chunks (no Content-Length); the status answered."""
    with socket.create_connection((HOST, port), timeout=15) as sock:
        sock.sendall(f"POST {EVALUATE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     "\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        chunk = b"[" * 65536
        try:
            for _ in range(32):
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may answer and close before the rest is sent
        head = sock.recv(65536).decode(errors="replace")
    return int(head.split()[1])


def start(started: list[Serve], tmp_path: Path, url: str, **kwargs: object) -> Serve:
    """A ready server in ``tmp_path``, added to ``started`` (the ``serve`` fixture stops
    them all after the test)."""
    server = Serve(tmp_path, url, **kwargs)  # type: ignore[arg-type]
    started.append(server)
    server.wait("/readyz")
    return server


def wait_for(condition: object, within: float) -> float:
    """Seconds until ``condition()`` holds; fails the test after ``within`` seconds."""
    began = time.monotonic()
    while time.monotonic() - began < within:
        if condition():  # type: ignore[operator]
            return time.monotonic() - began
        time.sleep(0.05)
    raise AssertionError(f"not within {within} s")
