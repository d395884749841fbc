"""Fixtures for the impact tests: audit trails written by the service's own writer
(:class:`service.audit.AuditLog`) from real evaluations of the bundled table, on SQLite and,
when ``TRIAGE_TEST_DATABASE_URL`` names a PostgreSQL server, in a database of their own
created for the session, with a role that may only read it."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

import engine
from engine.evaluator import CompiledModel
from tests.impact.cases import TABLE, fill, random_facts

__all__ = ["TABLE", "fill", "random_facts"]

ROOT = Path(__file__).resolve().parents[2]
WORKBOOK = ROOT / "decision_tables" / "muscle_twitching.xlsx"
PG_ENV = "TRIAGE_TEST_DATABASE_URL"


def edited_copy(tmp_path: Path, name: str, edits: dict[tuple[str, str], Any],
                drop: tuple[str, ...] = ()) -> Path:
    """A copy of the bundled workbook with cells changed (and sheets in ``drop`` removed),
    saved as Excel would."""
    path = tmp_path / name
    shutil.copy(WORKBOOK, path)
    book = openpyxl.load_workbook(path)
    for sheet in drop:
        del book[sheet]
    for (sheet, cell), value in edits.items():
        book[sheet][cell] = value
    book.save(path)
    return path


@pytest.fixture(scope="session")
def bundled() -> CompiledModel:
    return engine.load(WORKBOOK)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[sa.URL]:
    """An empty database of this session's own, dropped at the end."""
    url = os.environ.get(PG_ENV)
    if not url or not url.startswith("postgresql"):
        pytest.skip(f"{PG_ENV} does not name a PostgreSQL database: the PostgreSQL replay "
                    "tests need one")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"impact_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        pytest.skip(f"cannot reach PostgreSQL at {PG_ENV}: {error.orig}")
    try:
        yield sa.make_url(url).set(database=name)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                {"d": name})
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def reader_role(postgres_server: sa.URL) -> Iterator[str]:
    """A role that may connect and SELECT, and nothing else."""
    role = f"impact_reader_{uuid.uuid4().hex[:8]}"
    owner = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with owner.connect() as connection:
        connection.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
        connection.execute(sa.text(
            f'GRANT CONNECT ON DATABASE "{postgres_server.database}" TO "{role}"'))
        connection.execute(sa.text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        connection.execute(sa.text(
            f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO "{role}"'))
    try:
        yield role
    finally:
        with owner.connect() as connection:
            connection.execute(sa.text(f'DROP OWNED BY "{role}"'))
            connection.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        owner.dispose()
