"""Drafts and released tables: every answer says which it came from, and ``RELEASE_ONLY``
serves released tables only.

The verdict is judged against the validator itself: a version is released exactly when
``triage validate --release`` passes on its workbook.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

from engine.cli import main
from engine.validation import Severity, validate
from service.config import ConfigError, settings
from tests.service.conftest import TABLE, WORKBOOK, admin, edit_workbook, example_facts

URL = f"/v1/tables/{TABLE}/evaluate"


def _review(path: Path) -> None:
    """Fill in the About sheet's review fields, as a reviewer signing the version off."""
    edit_workbook(path, "About", "B6", "Dr Ada Example, consultant neurologist")
    edit_workbook(path, "About", "B7", "2026-11-30")


def _blockers(path: Path) -> list[tuple[str | None, str | None, str]]:
    """What keeps ``path`` from release, by the validator: (sheet, first cell, code)."""
    report = validate(path, release=True)
    return sorted(
        (f.sheet, f.cells[0] if f.cells else None, f.code)
        for f in report.findings if f.severity in (Severity.ERROR, Severity.WARNING)
    )


def test_a_draft_is_served_and_every_answer_says_so(
        make_app: Callable[..., Flask], tables_dir: Path) -> None:
    path = tables_dir / WORKBOOK.name
    assert validate(path, release=True).failed()  # the bundled table is honestly unreviewed
    client = make_app().test_client()
    answer = client.post(URL, json={"facts": example_facts()}).get_json()
    assert answer["released"] is False
    assert answer["review_status"].startswith("draft")
    assert "Clinical reviewer" in answer["review_status"]
    batch = client.post(f"/v1/tables/{TABLE}/evaluate-batch",
                        json={"cases": [{"facts": example_facts()}]}).get_json()
    assert batch["released"] is False and batch["review_status"] == answer["review_status"]
    [summary] = client.get("/v1/tables").get_json()["tables"]
    assert summary["released"] is False
    release = client.get(f"/v1/tables/{TABLE}").get_json()["validation"]["release"]
    assert release["released"] is False
    assert sorted((p["sheet"], p["cell"], p.get("code")) for p in release["problems"]) == \
        _blockers(path)


def test_a_reviewed_table_is_released(make_app: Callable[..., Flask], tables_dir: Path) -> None:
    path = tables_dir / WORKBOOK.name
    _review(path)
    assert _blockers(path) == []
    client = make_app().test_client()
    answer = client.post(URL, json={"facts": example_facts()}).get_json()
    assert answer["released"] is True
    assert answer["review_status"] == "reviewed by Dr Ada Example, consultant neurologist " \
        "on 2026-11-30"


def test_release_only_refuses_a_draft_with_the_reasons(
        make_app: Callable[..., Flask], tables_dir: Path) -> None:
    path = tables_dir / WORKBOOK.name
    client = make_app(RELEASE_ONLY=True).test_client()
    listing = client.get("/v1/tables").get_json()
    assert listing["tables"] == []
    [status] = listing["files"]
    assert status["status"] == "failed"
    reasons = [(e["sheet"], e["cell"], e.get("code")) for e in status["errors"]]
    assert reasons[0][0] == "About" and "--release-only" in status["errors"][0]["message"]
    assert sorted(reasons[1:]) == _blockers(path)  # every reason, each at its cell
    assert client.post(URL, json={"facts": example_facts()}).status_code == 404


def test_release_only_serves_a_table_once_it_is_reviewed(
        make_app: Callable[..., Flask], tables_dir: Path) -> None:
    path = tables_dir / WORKBOOK.name
    client = make_app(RELEASE_ONLY=True).test_client()
    assert client.get("/v1/tables").get_json()["tables"] == []
    _review(path)
    assert client.post("/v1/admin/reload", headers=admin()).status_code == 200
    answer = client.post(URL, json={"facts": example_facts()})
    assert answer.status_code == 200 and answer.get_json()["released"] is True


def test_release_only_does_not_pin_a_stored_draft(
        make_app: Callable[..., Flask], tables_dir: Path, tmp_path: Path) -> None:
    """A draft accepted by a service that serves drafts, sharing the version store, is not
    served by one that serves released tables only, not even when pinned."""
    path = tables_dir / WORKBOOK.name
    shared: dict[str, Any] = {"STORE_PREFIX": "shared_store",
                              "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.sqlite3'}"}
    drafts = make_app(**shared).test_client()
    draft = drafts.post(URL, json={"facts": example_facts()}).get_json()["version"]
    reviewed_folder = tmp_path / "reviewed"
    reviewed_folder.mkdir()
    shutil.copy(path, reviewed_folder / WORKBOOK.name)
    _review(reviewed_folder / WORKBOOK.name)
    strict = make_app(RELEASE_ONLY=True, TABLES_DIR=str(reviewed_folder), **shared)
    client = strict.test_client()
    served = client.post(URL, json={"facts": example_facts()}).get_json()
    assert served["released"] is True and served["version"] != draft
    pinned = client.post(URL, json={"facts": example_facts(), "version": draft})
    assert pinned.status_code == 404
    refusal = pinned.get_json()
    assert refusal["error"] == "unreleased_version"
    assert draft in refusal["message"] and "released tables only" in refusal["message"]
    assert "never accepted" not in refusal["message"]
    unknown = client.post(URL, json={"facts": example_facts(), "version": "0" * 16})
    assert unknown.status_code == 404 and unknown.get_json()["error"] == "unknown_version"


def test_release_only_needs_the_validator() -> None:
    with pytest.raises(ConfigError, match="RELEASE_ONLY needs GATE_WITH_VALIDATOR"):
        settings({"RELEASE_ONLY": True, "GATE_WITH_VALIDATOR": False})


@pytest.mark.parametrize(("args", "env", "expected"), [
    ([], {}, False),
    (["--release-only"], {}, True),
    ([], {"TRIAGE_RELEASE_ONLY": "1"}, True),
])
def test_serve_takes_release_only_from_the_option_or_the_environment(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str],
        env: dict[str, str], expected: bool) -> None:
    seen: list[bool] = []
    monkeypatch.setattr("service.serve.run", lambda *a: seen.append(a[-1]))
    result = CliRunner().invoke(main, ["serve", "--tables", str(tmp_path), *args], env=env)
    assert result.exit_code == 0, result.output
    assert seen == [expected]
