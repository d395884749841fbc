"""``triage replay`` and ``triage coverage`` on audit trails the service's writer produced.

Every expectation is computed independently of the replay: the stored rows are re-evaluated
here one by one with ``CompiledModel.evaluate`` and compared in plain Python.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import engine
from engine.cli import main
from engine.evaluator import CompiledModel
from engine.impact.auditdb import AuditSource
from engine.validation.vignettes import outputs_by_name
from tests.impact.conftest import TABLE, WORKBOOK, edited_copy, fill

CASES = 400


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory, bundled: CompiledModel) -> tuple[str, list]:
    folder = tmp_path_factory.mktemp("trail")
    url = f"sqlite:///{folder / 'audit.sqlite3'}"
    rows = fill(url, bundled, CASES)
    return url, rows


@pytest.fixture(scope="module")
def down_candidate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Rule D13 (progressive weakness and wasting: urgent referral) now says routine GP."""
    return edited_copy(tmp_path_factory.mktemp("cand"), "down.xlsx",
                       {("Disposition", "Y21"): "ROUTINE_GP"})


def expected(candidate: CompiledModel, rows: list) -> dict[str, Any]:
    """The replay computed by hand: per stored row, the new disposition or the refusal."""
    order = list(candidate.output("disposition").allowed_values)
    down, refused, changed = [], 0, 0
    for row in rows:
        old = json.loads(row.outputs)["disposition"]
        try:
            new = outputs_by_name(candidate, candidate.evaluate(json.loads(row.facts)))
        except engine.FactError:
            refused += 1
            changed += 1
            continue
        old_all = {k: v for k, v in outputs_by_name(candidate, _decision(row)).items()}
        if any(old_all[k] != new[k] for k in new):
            changed += 1
        if order.index(new["disposition"]) > order.index(old):
            down.append(row.request_id)
    return {"down": down, "refused": refused, "changed": changed}


def _decision(row: Any) -> engine.Decision:
    return engine.Decision(row.version, json.loads(row.outputs), ())


def test_replay_of_the_same_workbook_changes_nothing(trail: tuple[str, list]) -> None:
    url, rows = trail
    result = run("replay", str(WORKBOOK), "--database-url", url, "--format", "json",
                 "--workers", "1")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["cases"] == CASES and data["changed"] == 0 and data["down_triaged"] == 0
    assert all(t["old"] == t["new"] for t in data["transitions"])
    assert sum(t["cases"] for t in data["transitions"]) == CASES
    assert data["rules_firing_for_the_first_time"] == []
    assert data["rules_no_longer_firing"] == []


@pytest.mark.parametrize("workers", ["1", "2"])
def test_down_triaged_cases_are_listed_with_request_ids(
    trail: tuple[str, list], down_candidate: Path, workers: str
) -> None:
    url, rows = trail
    want = expected(engine.load(down_candidate), rows)
    assert want["down"], "the edit must down-triage some of the generated cases"
    result = run("replay", str(down_candidate), "--database-url", url, "--format", "json",
                 "--workers", workers)
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert sorted(c["request_id"] for c in data["down_triaged_cases"]) == sorted(want["down"])
    assert all(c["old"] == "URGENT_REFERRAL" and c["new"] == "ROUTINE_GP"
               for c in data["down_triaged_cases"])
    assert data["changed"] == want["changed"] and data["refused"] == 0
    matrix = {(t["old"], t["new"]): t["cases"] for t in data["transitions"]}
    assert matrix[("URGENT_REFERRAL", "ROUTINE_GP")] == len(want["down"])


def test_refused_cases_come_with_their_errors(trail: tuple[str, list], tmp_path: Path) -> None:
    url, rows = trail
    # a narrower temperature range; the Tests sheet goes, as its vignettes use the old range
    narrow = edited_copy(tmp_path, "narrow.xlsx", {("Inputs", "D13"): "[36..37.5]"},
                         drop=("Tests",))
    want = expected(engine.load(narrow), rows)
    assert want["refused"]
    result = run("replay", str(narrow), "--database-url", url, "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["refused"] == want["refused"]
    assert all("temperature_c" in r["error"] for r in data["refusals"])
    assert all(r["request_ids"] for r in data["refusals"])


def test_text_html_and_csv(trail: tuple[str, list], down_candidate: Path, tmp_path: Path) -> None:
    url, rows = trail
    want = expected(engine.load(down_candidate), rows)
    text = run("replay", str(down_candidate), "--database-url", url).output
    assert "DOWN-TRIAGED" in text and want["down"][0] in text
    assert text.index("DOWN-TRIAGED") < text.index("TRANSITIONS")
    page = tmp_path / "replay.html"
    assert run("replay", str(down_candidate), "--database-url", url, "--format", "html",
               "-o", str(page)).exit_code == 1
    html = page.read_text()
    assert "<svg" in html and "URGENT_REFERRAL → ROUTINE_GP" in html and "http" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    sheet = tmp_path / "cases.csv"
    assert run("replay", str(down_candidate), "--database-url", url, "--format", "csv",
               "-o", str(sheet)).exit_code == 1
    lines = sheet.read_text().splitlines()
    assert lines[0] == "request_id,evaluated_at,version,class,old_disposition,new_disposition,error"
    down_lines = [ln for ln in lines if ",down-triage," in ln]
    assert sorted(ln.split(",")[0] for ln in down_lines) == sorted(want["down"])


def test_since_and_until(trail: tuple[str, list], down_candidate: Path) -> None:
    url, rows = trail
    since, until = "2026-03-01T09:00:00Z", "2026-03-01T10:00:00"  # minutes 60 to 119
    data = json.loads(run("replay", str(down_candidate), "--database-url", url, "--since",
                          since, "--until", until, "--format", "json").output)
    assert data["cases"] == 60
    want = expected(engine.load(down_candidate), rows[60:120])
    assert sorted(c["request_id"] for c in data["down_triaged_cases"]) == sorted(want["down"])


# --- bad input: one line, exit code 2 ----------------------------------------------------------


def _one_line_error(result: Any) -> str:
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_unreachable_database() -> None:
    line = _one_line_error(run("replay", str(WORKBOOK), "--database-url",
                               "postgresql+psycopg://nobody@127.0.0.1:1/none"))
    assert "cannot reach the audit database" in line
    line = _one_line_error(run("replay", str(WORKBOOK), "--database-url",
                               "sqlite:////nonexistent/folder/audit.sqlite3"))
    assert "cannot reach" in line
    assert "is not a database URL" in _one_line_error(
        run("coverage", "--database-url", "not a url"))


def test_table_not_in_the_audit(trail: tuple[str, list]) -> None:
    url, _ = trail
    line = _one_line_error(run("replay", str(WORKBOOK), "--database-url", url, "--table",
                               "no_such_table"))
    assert "'no_such_table' is not in the audit trail" in line and TABLE in line
    line = _one_line_error(run("coverage", "--database-url", url, "--table", "no_such_table"))
    assert "'no_such_table' is not in the audit trail" in line


def test_candidate_that_fails_to_load(trail: tuple[str, list], tmp_path: Path) -> None:
    url, _ = trail
    broken = edited_copy(tmp_path, "broken.xlsx", {("Disposition", "B23"): "> 14 and"})
    line = _one_line_error(run("replay", str(broken), "--database-url", url))
    assert "candidate workbook" in line and "Disposition!" in line
    missing = _one_line_error(run("replay", str(tmp_path / "none.xlsx"), "--database-url", url))
    assert "cannot be loaded" in missing


def test_stored_facts_that_no_longer_parse(bundled: CompiledModel, tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    fill(f"sqlite:///{path}", bundled, 30)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE evaluations SET facts = '{\"age_years\": 4' WHERE id = 17")
    line = _one_line_error(run("replay", str(WORKBOOK), "--database-url", f"sqlite:///{path}",
                               "--workers", "1"))
    assert "audit row 17" in line and "no longer parse" in line


def test_version_id_not_in_the_store(trail: tuple[str, list]) -> None:
    url, _ = trail
    line = _one_line_error(run("diff", "0123456789abcdef", str(WORKBOOK), "--database-url", url))
    assert "0123456789abcdef" in line


def test_replay_never_writes_sqlite(trail: tuple[str, list], down_candidate: Path) -> None:
    url, _ = trail
    path = Path(sa.make_url(url).database or "")
    before = path.stat().st_mtime_ns, path.read_bytes()
    run("replay", str(down_candidate), "--database-url", url, "--workers", "1")
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before
    source = AuditSource(url)
    with pytest.raises(sa.exc.OperationalError, match="readonly"):
        with source.engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM evaluations"))
    source.close()


# --- PostgreSQL, through a role that may only read -------------------------------------------


def test_replay_on_postgresql_with_a_read_only_role(
    postgres_server: sa.URL, reader_role: str, bundled: CompiledModel, down_candidate: Path
) -> None:
    owner_url = postgres_server.render_as_string(hide_password=False)
    rows = fill(owner_url, bundled, 300)
    reader = postgres_server.set(username=reader_role, password=None)
    reader_url = reader.render_as_string(hide_password=False)
    want = expected(engine.load(down_candidate), rows)
    result = run("replay", str(down_candidate), "--database-url", reader_url, "--format",
                 "json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["cases"] == 300
    assert sorted(c["request_id"] for c in data["down_triaged_cases"]) == sorted(want["down"])
    # the role could not have written: the database says so
    denied = sa.create_engine(reader)
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        with denied.begin() as connection:
            connection.execute(sa.text("DELETE FROM evaluations"))
    denied.dispose()
    # and the reader's own sessions are read-only even for a role that could write
    source = AuditSource(owner_url)
    with pytest.raises(sa.exc.InternalError, match="read-only"):
        with source.engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM evaluations"))
    source.close()
    coverage = json.loads(run("coverage", "--database-url", reader_url, "--workbook",
                              str(WORKBOOK), "--format", "json").output)
    assert coverage["versions"][0]["cases"] == 300


# --- production coverage ---------------------------------------------------------------------


def test_coverage_counts_every_rule_and_lists_those_never_fired(
    trail: tuple[str, list], bundled: CompiledModel
) -> None:
    url, rows = trail
    counts: dict[str, int] = {}
    for row in rows:
        for fired in json.loads(row.fired):
            key = f"{fired['table']}/{fired['rule_id']}"
            counts[key] = counts.get(key, 0) + 1
    result = run("coverage", "--database-url", url, "--workbook", str(WORKBOOK), "--format",
                 "json")
    assert result.exit_code == 0, result.output
    version = json.loads(result.output)["versions"][0]
    assert version["version"] == bundled.version and version["cases"] == CASES
    got = {f"{r['table']}/{r['rule_id']}": r["fired"] for r in version["rules"]}
    every = {f"{t.name}/{r.rule_id}" for t in bundled.tables for r in t.rules}
    assert set(got) == every
    assert {k: v for k, v in got.items() if v} == counts
    assert {f"{r['table']}/{r['rule_id']}" for r in version["never_fired"]} == every - set(counts)
    text = run("coverage", "--database-url", url).output
    assert "never fired: unknown" in text  # no workbook given: unknown, not "none"


def test_progress_bar_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from engine.impact.commands import _progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert _progress(10) is None  # a pipe or a file: no bar
    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    bar = _progress(10)
    bar.update(10)
    bar.close()
    assert "100%" in screen.getvalue() and "replay" in screen.getvalue()


# --- each distinct set of facts is evaluated once -------------------------------------------


def test_repeated_facts_are_evaluated_once_with_the_same_answers(
    bundled: CompiledModel, down_candidate: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    rows = fill(url, bundled, 500, distinct=60)
    distinct = {json.dumps(json.loads(r.facts), sort_keys=True) for r in rows}
    assert len(distinct) < 100  # the trail repeats facts (in other key orders too)
    want = expected(engine.load(down_candidate), rows)
    result = run("replay", str(down_candidate), "--database-url", url, "--format", "json",
                 "--workers", "1")
    data = json.loads(result.output)
    assert data["cases"] == 500 and data["evaluated"] == len(distinct)
    assert sorted(c["request_id"] for c in data["down_triaged_cases"]) == sorted(want["down"])
    assert data["changed"] == want["changed"]
    # two workers: each stored text of facts goes to one of them, so none is asked twice
    two = json.loads(run("replay", str(down_candidate), "--database-url", url, "--format",
                         "json", "--workers", "2").output)
    assert two["workers"] == 2
    assert len(distinct) <= two["evaluated"] <= len({r.facts for r in rows})
    assert [c["request_id"] for c in two["down_triaged_cases"]] == want["down"]  # stored order
    assert {k: v for k, v in two.items() if k not in ("seconds", "workers", "evaluated")} == {
        k: v for k, v in data.items() if k not in ("seconds", "workers", "evaluated")}


def test_the_memo_is_bounded_and_changes_no_answer(
    bundled: CompiledModel, down_candidate: Path, tmp_path: Path
) -> None:
    from engine.impact.auditdb import AuditedCase
    from engine.impact.replay import Replayer, facts_key

    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    rows = fill(url, bundled, 300, distinct=40)
    candidate = engine.load(down_candidate)
    cases = [AuditedCase(n, r.request_id, r.evaluated_at, r.version, r.facts, r.outputs)
             for n, r in enumerate(rows)]
    batches = [cases[i:i + 25] for i in range(0, len(cases), 25)]
    unbounded, bounded = Replayer(candidate, None, True), Replayer(candidate, None, True,
                                                                 memo_limit=10)
    for batch in batches:
        a, b = unbounded.run(batch), bounded.run(batch)
        assert (a.listed, a.matrix, a.fired, a.down) == (b.listed, b.matrix, b.fired, b.down)
        assert len(bounded.memo) <= 25
    assert len(unbounded.memo) == len({json.dumps(json.loads(r.facts), sort_keys=True)
                                       for r in rows})
    # and each answer is the engine's for that case
    for row in rows[:60]:
        kept = json.loads(unbounded.memo[facts_key(json.loads(row.facts))])
        direct = candidate.evaluate_frame(pd.DataFrame.from_records([json.loads(row.facts)]),
                                          fired=True).to_dict("records")[0]
        assert kept == direct


# --- the listed cases are kept on disk, not in memory ----------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_listed_cases_held_in_memory_stay_bounded_and_come_out_complete(
    trail: tuple[str, list], down_candidate: Path, tmp_path: Path, workers: int
) -> None:
    from engine.impact.replay import replay
    from engine.impact.replayformat import csv_header, csv_rows, render

    url, rows = trail
    candidate = engine.load(down_candidate)
    want = expected(candidate, rows)
    assert len(want["down"]) > 3
    sheet: list[dict[str, Any]] = []
    with AuditSource(url) as source:
        run = replay(source, str(down_candidate), candidate, TABLE, workers=workers, batch=25,
                     on_listed=sheet.extend, held=3)
    folder = run.listed.path.parent
    with run:
        assert run.listed.peak_held <= 3  # never more than 3 listed cases in memory
        assert any(folder.iterdir())  # the rest went to disk
        text = render(run, "json")
        data = json.loads(text)
        # every one, in stored order, the same as an unbounded replay's
        assert [c["request_id"] for c in data["down_triaged_cases"]] == want["down"]
        assert data["down_triaged"] == len(want["down"])
        # the streamed JSON is laid out as json.dumps lays out the whole report
        assert text == json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        lines = (csv_header("disposition") + csv_rows(sheet, "disposition")).splitlines()
        down_lines = [ln for ln in lines if ",down-triage," in ln]
        assert [ln.split(",")[0] for ln in down_lines] == want["down"]
        assert len(lines) == 1 + want["changed"]
    assert not folder.exists()  # closing the run deletes the file


def test_refusals_on_disk_are_merged_and_ordered_as_in_memory(
    trail: tuple[str, list], tmp_path: Path
) -> None:
    from engine.impact.replay import replay
    from engine.impact.replayformat import render
    from engine.impact.spill import MAX_LISTED_REFUSALS

    url, rows = trail
    narrow = edited_copy(tmp_path, "narrow.xlsx", {("Inputs", "D13"): "[36..37.5]"},
                         drop=("Tests",))
    candidate = engine.load(narrow)
    # the refusals counted by hand: message -> request ids, in stored order
    by_message: dict[str, list[str]] = {}
    for row in rows:
        try:
            candidate.evaluate(json.loads(row.facts))
        except engine.FactError as error:
            by_message.setdefault(str(error), []).append(row.request_id)
    assert sum(len(ids) for ids in by_message.values()) == expected(candidate, rows)["refused"]
    assert len(by_message) > 1  # the message names the value: they grow with the cases
    with AuditSource(url) as source:
        run = replay(source, str(narrow), candidate, TABLE, workers=1, batch=7, held=2)
    with run:
        assert run.listed.peak_held <= 2
        data = json.loads(render(run, "json"))
    got = {r["error"]: r for r in data["refusals"]}
    assert {m: r["cases"] for m, r in got.items()} == {m: len(i) for m, i in by_message.items()}
    for message, ids in by_message.items():
        assert got[message]["request_ids"] == ids[:MAX_LISTED_REFUSALS]
    assert [r["cases"] for r in data["refusals"]] == sorted(
        (r["cases"] for r in data["refusals"]), reverse=True)


def test_the_store_keeps_what_the_in_memory_merge_kept() -> None:
    """Many batches of refusals and down-triaged cases through a store holding 2 rows,
    against :meth:`Outcome.add` merging the same batches in memory (the earlier way)."""
    import random

    from engine.impact.replay import Outcome
    from engine.impact.spill import MAX_LISTED_REFUSALS, Listed

    rng = random.Random(7)
    merged = Outcome()
    with Listed(held=2) as listed:
        for b in range(60):
            batch = Outcome()
            for n in range(rng.randrange(6)):
                message = f"error {rng.randrange(8)}"  # ties in count are common
                entry = batch.refused.setdefault(message, [0, []])
                entry[0] += 1
                entry[1].append(f"r{b}-{n}")
            batch.down = [{"request_id": f"d{b}-{n}", "old": [b, n], "new": None}
                          for n in range(rng.randrange(3))]
            listed.add(batch.down, batch.refused)
            merged.add(batch)
        assert listed.peak_held <= 2
        assert list(listed.down()) == merged.down
        assert list(listed.down(5)) == merged.down[:5]
        want = [(m, c, ids) for m, (c, ids) in sorted(merged.refused.items(),
                                                       key=lambda kv: -kv[1][0])]
        assert list(listed.refusals()) == want
        assert max(len(ids) for _, _, ids in want) == MAX_LISTED_REFUSALS  # the cap was hit
        assert listed.refused_count == merged.refused_count
        assert listed.down_count == len(merged.down) and listed.refusal_messages == 8


def test_text_and_html_show_the_first_cases_and_say_how_many_more(
    trail: tuple[str, list], down_candidate: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.impact import replayformat

    url, rows = trail
    want = expected(engine.load(down_candidate), rows)["down"]
    monkeypatch.setattr(replayformat, "TEXT_SHOWN", 2)
    monkeypatch.setattr(replayformat, "HTML_SHOWN", 3)
    text = run("replay", str(down_candidate), "--database-url", url).output
    shown = [r for r in want if r in text]
    assert shown == want[:2]
    assert f"… and {len(want) - 2:,} more (--format csv or json lists every one)" in text
    page = tmp_path / "replay.html"
    run("replay", str(down_candidate), "--database-url", url, "--format", "html", "-o",
        str(page))
    html = page.read_text()
    assert [r for r in want if r in html] == want[:3]
    assert f"… and {len(want) - 3:,} more" in html
