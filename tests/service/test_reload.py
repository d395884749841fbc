"""Hot reload: the gate, the registry's atomic swap, the polling watcher (stable files
only, removal, the reload signal between workers) and /v1/admin/reload."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service import gate
from service.registry import Registry
from service.watcher import Watcher
from tests.service.conftest import TABLE, WORKBOOK, admin, edit_workbook, example_facts

URL = f"/v1/tables/{TABLE}/evaluate"


def _break(path: Path) -> None:
    """A workbook that loads no more: its About sheet loses the Table id."""
    edit_workbook(path, "About", "B2", None)


def test_gate_passes_the_bundled_workbook() -> None:
    result = gate.check(WORKBOOK)
    assert result.ok and result.model is not None and result.problems == ()


@pytest.mark.parametrize("use_validator", [True, False])
def test_gate_refuses_a_failing_vignette(tmp_path: Path, use_validator: bool) -> None:
    path = tmp_path / "book.xlsx"
    shutil.copy(WORKBOOK, path)
    edit_workbook(path, "Tests", "AD2", "EMERGENCY")  # V01 expects SELF_CARE
    result = gate.check(path, use_validator)
    assert not result.ok and result.model is None
    assert any("V01" in p["message"] for p in result.problems), result.problems


def test_gate_reports_where_a_broken_workbook_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    shutil.copy(WORKBOOK, path)
    _break(path)
    result = gate.check(path)
    assert not result.ok
    assert any(p["sheet"] == "About" for p in result.problems)
    assert all({"sheet", "cell", "message", "fix"} <= set(p) for p in result.problems)
    garbage = tmp_path / "garbage.xlsx"
    garbage.write_bytes(b"not a spreadsheet")
    assert not gate.check(garbage).ok


def test_admin_reload_serves_a_changed_workbook(client: FlaskClient, tables_dir: Path) -> None:
    old = client.post(URL, json={"facts": example_facts()}).get_json()
    edit_workbook(tables_dir / WORKBOOK.name, "Advice", "C12", "Book a GP appointment.")
    answer = client.post("/v1/admin/reload", headers=admin())
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["reloaded"][0]["status"] == "ok"
    new = client.post(URL, json={"facts": example_facts()}).get_json()
    assert new["version"] == body["tables"][TABLE] != old["version"]
    assert new["outputs"]["advice"] == "Book a GP appointment."


def test_a_refused_reload_keeps_the_last_good_version_serving(
    client: FlaskClient, tables_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = client.get(f"/v1/tables/{TABLE}").get_json()["version"]
    _break(tables_dir / WORKBOOK.name)
    body = client.post("/v1/admin/reload", headers=admin()).get_json()
    assert body["reloaded"][0]["status"] == "failed"
    assert client.post(URL, json={"facts": example_facts()}).get_json()["version"] == good
    table = client.get("/v1/tables").get_json()["tables"][0]
    assert table["version"] == good
    assert table["last_reload"]["status"] == "failed"
    assert table["last_reload"]["errors"][0]["sheet"] == "About"
    assert "reload refused" in caplog.text
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'triage_reload_failures_total{source="muscle_twitching.xlsx"} 1.0' in metrics
    assert 'triage_reload_failing{source="muscle_twitching.xlsx"} 1.0' in metrics


def test_a_second_file_with_the_same_table_id_is_refused(
    client: FlaskClient, tables_dir: Path
) -> None:
    shutil.copy(WORKBOOK, tables_dir / "copy.xlsx")
    client.post("/v1/admin/reload", headers=admin())
    files = {Path(f["source"]).name: f for f in client.get("/v1/tables").get_json()["files"]}
    assert files["muscle_twitching.xlsx"]["status"] == "ok"
    assert files["copy.xlsx"]["status"] == "failed"
    assert "already served" in files["copy.xlsx"]["errors"][0]["message"]


def _registry(folder: Path) -> Registry:
    registry = Registry(folder)
    registry.scan()
    return registry


def test_watcher_loads_a_change_only_once_the_file_is_stable(tables_dir: Path) -> None:
    registry = _registry(tables_dir)
    watcher = Watcher(registry, interval=10)
    watcher.poll()
    first = registry.find(TABLE)
    assert first is not None
    path = tables_dir / WORKBOOK.name
    edit_workbook(path, "About", "B4", "2.0.1")
    watcher.poll()  # changed since the last look: wait for it to settle
    assert registry.find(TABLE) is first
    watcher.poll()  # unchanged since: load it
    second = registry.find(TABLE)
    assert second is not None and second.model.about.version == "2.0.1"
    assert registry.find(TABLE, first.version) is first  # kept for pinning


def test_watcher_ignores_a_file_still_being_written(tables_dir: Path) -> None:
    registry = _registry(tables_dir)
    watcher = Watcher(registry, interval=10)
    watcher.poll()
    path = tables_dir / WORKBOOK.name
    data = path.read_bytes()
    with path.open("wb") as partial:
        partial.write(data[: len(data) // 2])
        partial.flush()
        watcher.poll()
        partial.write(data[len(data) // 2 : len(data) * 3 // 4])
        partial.flush()
        watcher.poll()  # still growing: never read half-way
        assert registry.snapshot.files[path.name].ok
        partial.write(data[len(data) * 3 // 4 :])
    watcher.poll()
    watcher.poll()
    assert registry.snapshot.files[path.name].ok  # same bytes as before: nothing to do


def test_a_table_whose_file_is_gone_keeps_serving_marked_source_missing(
    tables_dir: Path,
) -> None:
    registry = _registry(tables_dir)
    watcher = Watcher(registry, interval=10)
    watcher.poll()
    serving = registry.find(TABLE)
    (tables_dir / WORKBOOK.name).unlink()
    watcher.poll()
    assert not registry.snapshot.slots[TABLE].source_missing  # one look is not enough
    watcher.poll()
    assert registry.find(TABLE) is serving  # still serving: only retiring stops a table
    assert registry.snapshot.slots[TABLE].source_missing
    assert registry.snapshot.files[WORKBOOK.name].as_dict()["status"] == "missing"
    shutil.copy(WORKBOOK, tables_dir / WORKBOOK.name)  # back (an editor's slow rename)
    watcher.poll()
    watcher.poll()
    assert registry.find(TABLE) is not None and not registry.snapshot.slots[TABLE].source_missing


def test_watcher_skips_lock_and_hidden_files(tables_dir: Path) -> None:
    (tables_dir / "~$muscle_twitching.xlsx").write_bytes(b"lock")
    (tables_dir / ".muscle_twitching.xlsx.swp").write_bytes(b"swap")
    (tables_dir / "notes.txt").write_text("not a table")
    registry = _registry(tables_dir)
    assert list(registry.snapshot.files) == [WORKBOOK.name]


def test_reload_signal_reaches_other_workers(tables_dir: Path, tmp_path: Path) -> None:
    signal = tmp_path / "reload-signal"
    one, two = _registry(tables_dir), _registry(tables_dir)
    first, second = Watcher(one, 10, signal), Watcher(two, 10, signal)
    loaded_at = two.snapshot.files[WORKBOOK.name].at
    first.request_reload()
    first.poll()  # the worker that asked has reloaded already
    second.poll()
    assert two.snapshot.files[WORKBOOK.name].at > loaded_at


def test_watcher_thread_serves_a_saved_workbook_within_two_seconds(
    make_app: Callable[..., Flask], tables_dir: Path
) -> None:
    client = make_app(WATCH=True, WATCH_INTERVAL=0.25).test_client()
    edit_workbook(tables_dir / WORKBOOK.name, "About", "B4", "1.1.0")
    saved = time.monotonic()
    while time.monotonic() - saved < 10:
        body = client.post(URL, json={"facts": example_facts()}).get_json()
        if body["table_version"] == "1.1.0":
            break
        time.sleep(0.05)
    elapsed = time.monotonic() - saved
    assert body["table_version"] == "1.1.0"
    assert elapsed < 2.0, f"served after {elapsed:.2f} s"
