"""Fixtures for the service tests: an app on a copy of the bundled table, its client, and
helpers that edit a workbook on disk the way a clinician saving in Excel would.

``pg_url`` gives a test that drives the real server a PostgreSQL database of its own (created
and dropped around it), and ``serve`` stops the servers it started.

``database_url`` runs a test once on SQLite and, when ``TRIAGE_TEST_DATABASE_URL`` names a
PostgreSQL database (``.ci/run`` sets it), once more on PostgreSQL, each time in a table of
its own that is dropped afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from service import create_app
from service.state import KEY, State

ROOT = Path(__file__).resolve().parents[2]
WORKBOOK = ROOT / "decision_tables" / "muscle_twitching.xlsx"
EXAMPLE = ROOT / "decision_tables" / "examples" / "muscle_twitching_case.json"
TABLE = "muscle_twitching"
ADMIN_TOKEN = "test-admin-token"
PG_ENV = "TRIAGE_TEST_DATABASE_URL"


def example_facts() -> dict[str, Any]:
    facts: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return facts


def edit_workbook(path: Path, sheet: str, cell: str, value: Any) -> None:
    """Change one cell and save, as Excel would (the file is rewritten in place)."""
    book = openpyxl.load_workbook(path)
    book[sheet][cell] = value
    book.save(path)


@pytest.fixture
def tables_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "tables"
    folder.mkdir()
    shutil.copy(WORKBOOK, folder / WORKBOOK.name)
    return folder


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.sqlite3'}"
        return
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL to test the audit trail against")
    yield url


@pytest.fixture
def make_app(tables_dir: Path, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """A factory: ``make_app(**config)`` builds an app (watcher off unless asked) and
    closes it, and drops its PostgreSQL audit table, after the test."""
    made: list[Flask] = []

    def make(**config: Any) -> Flask:
        settings = {
            "TESTING": True,
            "TABLES_DIR": str(tables_dir),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'audit.sqlite3'}",
            "AUDIT_TABLE": f"evaluations_{uuid.uuid4().hex[:12]}",
            "STORE_PREFIX": f"store_{uuid.uuid4().hex[:12]}",
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "WATCH": False,
            "LOG_REQUESTS": False,
        }
        settings.update(config)
        app = create_app(settings)
        made.append(app)
        return app

    yield make
    for app in made:
        state: State = app.extensions[KEY]
        state.close()
        if state.audit.backend == "postgresql":
            for table in (state.audit.table, state.store.versions, state.store.heads):
                table.drop(state.audit.engine, checkfirst=True)
            state.audit.engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own, dropped afterwards."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL for the fault tests")
    name = f"service_test_f{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    yield str(sa.engine.make_url(base).set(database=name).render_as_string(False))
    with admin.connect() as connection:
        connection.exec_driver_sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[list[Any]]:
    """Real ``triage serve`` processes a test starts (``servers.start``), stopped after it."""
    started: list[Any] = []
    yield started
    for server in started:
        server.stop()
