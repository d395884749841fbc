"""End to end: ``triage serve`` as a real process (gunicorn, two workers) on a free port of
127.0.0.1, real HTTP requests, a workbook edited on disk and served within two seconds,
then a broken workbook refused while the last good version keeps serving."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import ADMIN_TOKEN, TABLE, WORKBOOK, edit_workbook, example_facts

HOST = "127.0.0.1"


@dataclass
class Server:
    port: int
    tables: Path
    process: subprocess.Popen[bytes]
    log: Path

    def call(self, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any]:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            data = json.dumps(body).encode() if body is not None else None
            sent = {"Content-Type": "application/json", **(headers or {})}
            connection.request(method, path, body=data, headers=sent)
            answer = connection.getresponse()
            raw = answer.read()
            kind = answer.getheader("Content-Type", "")
            return answer.status, json.loads(raw) if "json" in kind else raw.decode()
        finally:
            connection.close()

    def evaluate(self) -> dict[str, Any]:
        status, body = self.call("POST", f"/v1/tables/{TABLE}/evaluate", {"facts": example_facts()})
        assert status == 200, body
        result: dict[str, Any] = body
        return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    tables = tmp_path / "tables"
    tables.mkdir()
    shutil.copy(WORKBOOK, tables / WORKBOOK.name)
    port = _free_port()
    log = tmp_path / "server.log"
    triage = Path(sys.executable).with_name("triage")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(triage), "serve", "--tables", str(tables), "--host", HOST, "--port", str(port),
             "--workers", "2", "--database-url", f"sqlite:///{tmp_path / 'audit.sqlite3'}"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "TRIAGE_ADMIN_TOKEN": ADMIN_TOKEN},
        )
    running = Server(port, tables, process, log)
    deadline = time.monotonic() + 60
    while True:
        try:
            if running.call("GET", "/readyz")[0] == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"triage serve did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)
    yield running
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _all_workers_serve(server: Server, version: str, within: float) -> float:
    """Seconds until ten answers in a row (spread over both workers) carry ``version``."""
    start = time.monotonic()
    streak = 0
    while time.monotonic() - start < within:
        streak = streak + 1 if server.evaluate()["table_version"] == version else 0
        if streak >= 10:
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"version {version} not served by every worker within {within} s")


def test_serve_reload_and_refuse_a_broken_workbook(server: Server) -> None:
    first = server.evaluate()
    assert first["outputs"]["disposition"] == "ROUTINE_GP"
    assert first["table_version"] == "2.0.0" and first["fired"] and first["explanation"]

    path = server.tables / WORKBOOK.name
    # both edits land in one replace, so no half-edited version can serve in between (a large
    # workbook takes longer to save than the watcher takes to call a file stable)
    staged = server.tables.parent / f"staged-{WORKBOOK.name}"
    shutil.copy(path, staged)
    edit_workbook(staged, "Advice", "C12", "Book a routine GP appointment (edited).")
    edit_workbook(staged, "About", "B4", "1.0.1")
    os.replace(staged, path)
    seconds = _all_workers_serve(server, "1.0.1", within=10)
    assert seconds < 2.0, f"the edited workbook took {seconds:.2f} s to serve"
    second = server.evaluate()
    assert second["version"] != first["version"]
    assert second["outputs"]["advice"] == "Book a routine GP appointment (edited)."

    edit_workbook(path, "About", "B2", None)  # no Table id: the gate refuses it
    deadline = time.monotonic() + 10
    failed = False
    while time.monotonic() < deadline and not failed:
        _, tables = server.call("GET", "/v1/tables")
        failed = tables["tables"][0]["last_reload"]["status"] == "failed"
        time.sleep(0.1)
    assert failed, tables
    assert tables["tables"][0]["version"] == second["version"]
    for _ in range(10):  # both workers keep the last good version
        assert server.evaluate()["version"] == second["version"]
    _, metrics = server.call("GET", "/metrics")
    assert 'triage_reload_failures_total{source="muscle_twitching.xlsx"}' in metrics

    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    status, reload = server.call("POST", "/v1/admin/reload", headers=auth)
    assert status == 200 and reload["reloaded"][0]["status"] == "failed"
    status, audit = server.call("GET", "/v1/admin/audit?limit=1000", headers=auth)
    assert status == 200 and audit["count"] >= 22
    assert {r["version"] for r in audit["records"]} == {first["version"], second["version"]}

    status, docs = server.call("GET", "/docs")
    assert status == 200 and "muscle_twitching" in docs
    assert "refused" in server.log.read_text()  # the JSON log names the refusal

    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=30) == 0


def test_serve_refuses_a_missing_tables_folder(tmp_path: Path) -> None:
    triage = Path(sys.executable).with_name("triage")
    done = subprocess.run([str(triage), "serve", "--tables", str(tmp_path / "nope")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "no folder" in done.stderr and "Traceback" not in done.stderr
