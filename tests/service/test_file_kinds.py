"""The service serves every kind of file ``engine.load`` reads, and lists the files it
refuses with the reason, rather than ignoring them: a clinician who saved the table in
another format sees why it is not served. (.ods: tests/libreoffice/test_roundtrip.py.)"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

import engine
from tests.service.conftest import ROOT, WORKBOOK
from tests.validation.test_hostile import vba_project

DISH = (ROOT / "tests" / "data" / "dmn-real" / "camunda-bpm-examples" /
        "dmn-engine-java-main-method" / "src" / "main" / "resources" / "org" / "camunda" /
        "bpm" / "example" / "dish-decision.dmn11.xml")


def test_a_camunda_dmn11_file_is_served(make_app: Callable[..., Flask],
                                         tables_dir: Path) -> None:
    if not DISH.exists():
        pytest.skip(f"{DISH} is missing")
    shutil.copy(DISH, tables_dir / DISH.name)
    model = engine.load(DISH)
    client = make_app().test_client()
    served = {t["source"]: t for t in client.get("/v1/tables").get_json()["tables"]}
    assert set(served) == {WORKBOOK.name, DISH.name}
    assert served[DISH.name]["version"] == model.version
    assert {i.name for i in model.inputs} == {"season", "guestCount"}
    facts = {"season": "Winter", "guestCount": 5}
    answer = client.post(f"/v1/tables/{model.about.table_id}/evaluate", json={"facts": facts})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["outputs"] == model.evaluate(facts).outputs == {
        "Dish": "Roastbeef"}  # the Camunda example's own answer for these facts


def test_a_workbook_with_macros_is_listed_as_refused(make_app: Callable[..., Flask],
                                                     tables_dir: Path) -> None:
    vba_project(tables_dir / "with-macros.xlsx").rename(tables_dir / "with-macros.xlsm")
    client = make_app().test_client()
    listing = client.get("/v1/tables").get_json()
    files = {f["source"]: f for f in listing["files"]}
    assert files["with-macros.xlsm"]["status"] == "failed"
    [reason] = files["with-macros.xlsm"]["errors"]
    assert "macro" in reason["message"].lower() and reason["fix"]
    assert [t["source"] for t in listing["tables"]] == [WORKBOOK.name]
