"""Scale-out: two ``triage serve`` instances on different ports, sharing one PostgreSQL,
serve the same versions and accept the same pins (the version store), and a retirement on one
stops both. This is how the service grows past one machine (docs/service.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl

from tests.service.conftest import TABLE, WORKBOOK, example_facts
from tests.service.servers import AUTH, EVALUATE, Serve, start, wait_for


def test_two_instances_sharing_postgresql_serve_the_same_versions_and_pins(
    serve: list[Serve], tmp_path: Path, pg_url: str
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = start(serve, tmp_path / "a", pg_url)
    empty = tmp_path / "b" / "tables"
    empty.mkdir()
    second = start(serve, tmp_path / "b", pg_url, tables=empty)  # no workbook of its own
    v1 = first.evaluate().body["version"]
    assert second.evaluate().body["version"] == v1  # served from the version store
    table = second.call("GET", "/v1/tables").body["tables"][0]
    assert table["source_missing"] and table["source"] == WORKBOOK.name
    book = openpyxl.load_workbook(first.tables / WORKBOOK.name)
    book["About"]["B4"] = "1.0.1"
    book.save(first.tables / WORKBOOK.name)
    wait_for(lambda: all(s.evaluate().body["table_version"] == "1.0.1"
                          for s in (first, second) for _ in range(4)), 10)
    v2 = second.evaluate().body["version"]
    assert v2 != v1
    for server in (first, second):
        for version in (v1, v2):
            answer = server.call("POST", EVALUATE, {"facts": example_facts(),
                                                    "version": version})
            assert answer.status == 200 and answer.body["version"] == version
    retired = second.call("POST", f"/v1/admin/tables/{TABLE}/retire", headers=AUTH)
    assert retired.status == 200
    wait_for(lambda: all(s.evaluate().status == 404 for s in (first, second)
                          for _ in range(4)), 10)
    shutil.rmtree(tmp_path / "b", ignore_errors=True)
