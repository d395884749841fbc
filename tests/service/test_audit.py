"""The audit trail, on SQLite and (when TRIAGE_TEST_DATABASE_URL is set) PostgreSQL: a row
per answered evaluation, written before the 200; a failed write is a 503, never a 200; the
admin endpoint reads it back and needs the admin token. Then the AuditLog on its own: a dropped
connection is replaced and the write retried, a batch is stored whole or not at all, and each
thread's writing connection is closed by dispose()."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import JSONB

from service.audit import AuditLog, AuditRow, AuditUnavailable, _sqlite_text
from tests.service.conftest import TABLE, admin, example_facts

URL = f"/v1/tables/{TABLE}/evaluate"


def test_each_answered_evaluation_has_its_row(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    client = make_app(DATABASE_URL=database_url).test_client()
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    answer = client.post(URL, json={"facts": example_facts()}).get_json()
    client.post(URL, json={"facts": {}})  # 422: not an evaluation, no row
    rows = client.get("/v1/admin/audit", headers=admin()).get_json()
    assert rows["count"] == 1
    (row,) = rows["records"]
    assert row["request_id"] == answer["request_id"]
    assert row["table_id"] == TABLE and row["version"] == answer["version"]
    assert row["facts"] == example_facts()
    assert row["outputs"] == answer["outputs"]
    assert row["fired"] == answer["fired"]
    assert row["case_index"] is None
    when = dt.datetime.fromisoformat(row["evaluated_at"])
    assert before <= when <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)


def test_audit_reads_since_a_time_with_a_limit(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    client = make_app(DATABASE_URL=database_url).test_client()
    ids = [client.post(URL, json={"facts": example_facts()}).get_json()["request_id"]
           for _ in range(5)]
    everything = client.get("/v1/admin/audit?limit=1000", headers=admin()).get_json()["records"]
    assert [r["request_id"] for r in everything] == ids
    third = everything[2]["evaluated_at"]
    later = client.get("/v1/admin/audit", query_string={"since": third, "limit": 2},
                       headers=admin()).get_json()["records"]
    assert [r["request_id"] for r in later] == ids[2:4]
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert client.get("/v1/admin/audit", query_string={"since": future},
                      headers=admin()).get_json()["count"] == 0
    other = client.get("/v1/admin/audit?table_id=other", headers=admin()).get_json()
    assert other["count"] == 0


def _refuse_inserts(audit: AuditLog) -> None:
    """A database that refuses every INSERT into the audit table (a trigger), as a full disk
    or a revoked grant would: nothing the service can heal."""
    name = audit.table.name
    with audit.engine.begin() as connection:
        if audit.backend == "sqlite":
            connection.exec_driver_sql(
                f"CREATE TRIGGER refuse_{name} BEFORE INSERT ON {name} "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END")
        else:
            connection.exec_driver_sql(
                f"CREATE FUNCTION refuse_{name}() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused'; END $$")
            connection.exec_driver_sql(
                f"CREATE TRIGGER refuse_{name} BEFORE INSERT ON {name} "
                f"FOR EACH ROW EXECUTE FUNCTION refuse_{name}()")


def test_a_failed_audit_write_is_503_and_no_decision(
    make_app: Callable[..., Flask], database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(DATABASE_URL=database_url)
    audit = app.extensions["triage"].audit
    _refuse_inserts(audit)
    answer = app.test_client().post(URL, json={"facts": example_facts()})
    assert answer.status_code == 503
    body = answer.get_json()
    assert body["error"] == "audit_unavailable"
    assert "outputs" not in body and "fired" not in body
    assert "audit write failed" in caplog.text
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert "triage_audit_failures_total 1.0" in metrics
    batch = app.test_client().post(f"/v1/tables/{TABLE}/evaluate-batch",
                                   json={"cases": [{"facts": example_facts()}]})
    assert batch.status_code == 503
    assert app.test_client().get("/readyz").status_code == 503
    if audit.backend == "postgresql":
        with audit.engine.begin() as connection:
            connection.exec_driver_sql(f"DROP FUNCTION refuse_{audit.table.name}() CASCADE")


def test_a_dropped_audit_table_is_made_again_and_the_write_stored(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    app = make_app(DATABASE_URL=database_url)
    audit = app.extensions["triage"].audit
    audit.table.drop(audit.engine)  # dropped under the running service
    answer = app.test_client().post(URL, json={"facts": example_facts()})
    assert answer.status_code == 200
    rows = audit.read(None, 10)
    assert [r["request_id"] for r in rows] == [answer.get_json()["request_id"]]


def test_audit_read_failure_is_503(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    audit = app.extensions["triage"].audit
    audit.table.drop(audit.engine)  # not made again by a read: only by a write or a check
    answer = app.test_client().get("/v1/admin/audit", headers=admin())
    assert answer.status_code == 503 and answer.get_json()["error"] == "audit_unavailable"


@pytest.mark.parametrize(
    ("query", "field"),
    [("since=yesterday", "since"), ("limit=0", "limit"), ("limit=100000", "limit"),
     ("limit=-1", "limit"), ("limit=ten", "limit"), ("sort=asc", "sort"),
     ("limit=%C2%B2", "limit"), ("since=9999-12-31T23:59:59-23:59", "since"),
     ("since=0001-01-01T00:00:00%2B23:59", "since")],
)
def test_bad_audit_parameters_are_422(
    make_app: Callable[..., Flask], query: str, field: str
) -> None:
    answer = make_app().test_client().get(f"/v1/admin/audit?{query}", headers=admin())
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["field"] == field


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer wrong-token-here"}, 401),
     ({"Authorization": "Basic dGVzdA=="}, 401), ({"Authorization": "Bearer"}, 401)],
)
def test_admin_endpoints_need_the_admin_token(
    make_app: Callable[..., Flask], headers: dict[str, str], status: int
) -> None:
    client = make_app().test_client()
    for method, path in (("GET", "/v1/admin/audit"), ("POST", "/v1/admin/reload")):
        answer = client.open(path, method=method, headers=headers)
        assert answer.status_code == status
        assert answer.get_json()["error"] == "unauthorized"


def test_admin_endpoints_are_off_without_a_configured_token(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app(ADMIN_TOKEN=None).test_client()
    answer = client.get("/v1/admin/audit", headers={"Authorization": "Bearer anything-at-all"})
    assert answer.status_code == 403 and answer.get_json()["error"] == "admin_disabled"


@pytest.fixture
def audit_log(database_url: str) -> Iterator[AuditLog]:
    """An AuditLog of its own (not behind an app), its PostgreSQL table dropped afterwards."""
    log = AuditLog(database_url, f"evaluations_{uuid.uuid4().hex[:12]}")
    log.create_schema()
    yield log
    if log.backend == "postgresql":
        log.table.drop(log.engine, checkfirst=True)
    log.dispose()


def _row(request_id: str | None = "r") -> AuditRow:
    return AuditRow(request_id, dt.datetime.now(dt.UTC), TABLE, "v1",  # type: ignore[arg-type]
                    '{"age":40}', '{"priority":"routine"}', "[]")


def _drop_connection(log: AuditLog) -> None:
    """What a database restart does to this thread's writing connection."""
    connection = log._writers.connection()
    if log.backend == "postgresql":
        with log.engine.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"),
                          {"pid": connection.info.backend_pid})
    else:
        connection.close()


def test_a_dropped_connection_is_replaced_and_the_write_retried(audit_log: AuditLog) -> None:
    audit_log.record([_row("first")])
    _drop_connection(audit_log)
    audit_log.record([_row("second")])
    assert [r["request_id"] for r in audit_log.read(None, 10)] == ["first", "second"]


def test_a_batch_is_stored_whole_or_not_at_all(audit_log: AuditLog) -> None:
    with pytest.raises(AuditUnavailable):
        audit_log.record([_row("a"), _row(None), _row("c")])  # request_id is NOT NULL
    assert audit_log.read(None, 10) == []
    audit_log.record([_row("d"), _row("e")])  # nothing was left open by the failure
    audit_log.record([_row("f")])
    assert [r["request_id"] for r in audit_log.read(None, 10)] == ["d", "e", "f"]


def _closed(connection: Any) -> bool:
    try:
        connection.execute("SELECT 1")
    except Exception as error:
        return "closed" in str(error)
    return False


def test_each_thread_writes_on_its_own_connection_closed_when_the_thread_ends(
    audit_log: AuditLog,
) -> None:
    used: list[Any] = []

    def write(name: str) -> None:
        for i in range(20):
            audit_log.record([_row(f"{name}-{i}")])
        used.append(audit_log._writers.connection())

    threads = [threading.Thread(target=write, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(audit_log.read(None, 1000)) == 80
    assert len({id(c) for c in used}) == 4
    assert all(_closed(c) for c in used)


def test_dispose_closes_every_threads_connection(audit_log: AuditLog) -> None:
    audit_log.record([_row("main")])
    written, finish = threading.Event(), threading.Event()
    used = [audit_log._writers.connection()]

    def write() -> None:
        audit_log.record([_row("other")])
        used.append(audit_log._writers.connection())
        written.set()
        finish.wait(10)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        assert written.wait(10)
        assert not any(_closed(c) for c in used)
        audit_log.dispose()
        assert all(_closed(c) for c in used)
    finally:
        finish.set()
        thread.join()


@pytest.mark.parametrize(
    "moment",
    [dt.datetime(2026, 5, 9, 6, 0, 0, tzinfo=dt.UTC),
     dt.datetime(2026, 5, 9, 8, 30, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
     dt.datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)],
)
def test_sqlite_time_text_is_what_sqlalchemy_stores(moment: dt.datetime) -> None:
    dialect = sqlite.dialect()
    stored = sa.DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert stored is not None
    assert _sqlite_text(moment) == stored(moment.astimezone(dt.UTC).replace(tzinfo=None))


def test_an_older_table_is_brought_up_to_date_even_with_repeated_request_ids(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A table from before the correlation_id column and the unique index, holding the same
    client-chosen request id twice (as issue 12 found), still serves: the column is added,
    and on PostgreSQL the index is left out with a warning rather than failing the schema."""
    name = f"evaluations_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(database_url)
    json_type = sa.JSON().with_variant(JSONB(), "postgresql")
    older = sa.Table(
        name, sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("case_index", sa.Integer), sa.Column("evaluated_at", sa.DateTime()),
        sa.Column("table_id", sa.String(200)), sa.Column("version", sa.String(64)),
        *(sa.Column(c, json_type) for c in ("facts", "outputs", "fired")),
    )
    older.create(engine)
    with engine.begin() as connection:
        connection.execute(older.insert(), [
            {"request_id": "visit-123", "evaluated_at": dt.datetime(2026, 1, 1),
             "table_id": TABLE, "version": "v", "facts": {}, "outputs": {}, "fired": []}
            for _ in (1, 2)])
    log = AuditLog(database_url, name)
    try:
        log.create_schema()
        log.record([_row("after")])
        assert [r["request_id"] for r in log.read(None, 10)][-1] == "after"
        if log.backend == "postgresql":
            assert "no unique index" in caplog.text
    finally:
        log.dispose()
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP TABLE {name}")
        engine.dispose()
