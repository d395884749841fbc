"""``triage diff`` and ``triage coverage`` on versions the service itself put in its version
store: a service app is started on a tables folder, so the registry keeps the bundled
workbook's version in the store's real tables (``service.versions``), and the commands read
it back by its id, on SQLite and, through a role that may only read, on PostgreSQL."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import engine
from engine.cli import main
from service import create_app
from service.state import KEY, State
from tests.impact.conftest import WORKBOOK, edited_copy, fill


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def serve_once(url: str, tmp_path: Path) -> str:
    """Start the service on ``url`` with the default table names, as `triage serve` does,
    so its registry stores the bundled workbook; the version id it stored."""
    folder = tmp_path / "tables"
    folder.mkdir()
    shutil.copy(WORKBOOK, folder / WORKBOOK.name)
    app = create_app({"TESTING": True, "TABLES_DIR": str(folder), "DATABASE_URL": url,
                      "WATCH": False, "LOG_REQUESTS": False})
    state: State = app.extensions[KEY]
    try:
        heads = state.store.all_heads()
        assert list(heads) == ["muscle_twitching"]
        version = heads["muscle_twitching"].version
        assert state.store.get("muscle_twitching", version) is not None
    finally:
        state.close()
        state.database.dispose()
    return version


@pytest.fixture(scope="module")
def down_candidate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return edited_copy(tmp_path_factory.mktemp("cand"), "down.xlsx",
                       {("Disposition", "Y21"): "ROUTINE_GP"})


def check_store(url: str, version: str, candidate: Path) -> None:
    assert version == engine.load(WORKBOOK).version
    same = run("diff", version, str(WORKBOOK), "--database-url", url)
    assert same.exit_code == 0, same.output
    changed = run("diff", version, str(candidate), "--database-url", url, "--format", "json")
    assert changed.exit_code == 1, changed.output
    report = json.loads(changed.output)
    assert report["regions"] and report["regions"][0]["triage"] == "down-triage"
    backwards = run("diff", str(candidate), version, "--database-url", url,
                    "--table", "muscle_twitching")
    assert backwards.exit_code == 1 and "up-triage" in backwards.output
    missing = run("diff", "0123456789abcdef", str(WORKBOOK), "--database-url", url)
    assert missing.exit_code == 2
    assert missing.output.count("\n") == 1 and "Traceback" not in missing.output
    assert "version '0123456789abcdef' is not in the version store" in missing.output
    other_table = run("diff", version, str(WORKBOOK), "--database-url", url,
                      "--table", "another_table")
    assert other_table.exit_code == 2 and "is not in the version store" in other_table.output
    # coverage takes the version's rules from the store: no workbook given
    coverage = run("coverage", "--database-url", url, "--format", "json")
    assert coverage.exit_code == 0, coverage.output
    first = json.loads(coverage.output)["versions"][0]
    assert first["version"] == version and first["rules_known"] is True
    assert first["never_fired"] is not None


def test_diff_and_coverage_read_the_real_store_on_sqlite(
    tmp_path: Path, down_candidate: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    version = serve_once(url, tmp_path)
    fill(url, engine.load(WORKBOOK), 50)
    check_store(url, version, down_candidate)


@pytest.fixture
def served_postgres(postgres_server: sa.URL, reader_role: str, tmp_path: Path
                    ) -> Iterator[tuple[str, str]]:
    owner = postgres_server.render_as_string(hide_password=False)
    version = serve_once(owner, tmp_path)
    fill(owner, engine.load(WORKBOOK), 50, seed=11)
    yield (postgres_server.set(username=reader_role, password=None)
           .render_as_string(hide_password=False), version)


def test_diff_and_coverage_read_the_real_store_on_postgresql(
    served_postgres: tuple[str, str], down_candidate: Path
) -> None:
    reader_url, version = served_postgres
    check_store(reader_url, version, down_candidate)
