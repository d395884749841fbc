"""Impact benchmark: replay, Spark, diff and evaluate_frame, printed in one run.

    python bench/impact.py                      # 1,000,000 audited cases (first run builds them)
    python bench/impact.py --cases 100000       # smaller
    python bench/impact.py --no-postgres --no-spark --json

What is measured, against the targets of issue 14:

* ``triage replay`` of N audited cases of the bundled table against a candidate that
  down-triages one rule, as the command a user runs (a subprocess, one worker per core), on
  SQLite and on PostgreSQL: wall time and the peak resident memory of the whole process tree
  (main process and workers, summed). Target: 1,000,000 cases in 90 s or less, 500 MB or less.
* Spark in local mode (``local[2]``) on the same cases exported to Parquet, through
  :func:`engine.spark.evaluate_spark`: cases a second, beside the replay's.
* ``triage diff`` of two 3,000-row versions of a grid table (five inputs, one row per
  combination; the new version changes 30 outputs and moves 10 boundaries): end to end, loading
  both workbooks included. Target: 10 s.
* ``CompiledModel.evaluate_frame`` on 100,000 cases against ``evaluate`` in a loop, in the same
  process. Target: the frame within 1.5x of the loop.

The audited cases are typical ones (``tests/impact/cases.py``: few findings, values near the
usual), distinct, each stored with the answer the bundled table gave it, the way the service
stores it; with ``--distinct N`` each case is one of N presentations drawn at random, so facts
repeat as they do in a real audit (replay evaluates each distinct set of facts once). They are
built once into ``--workdir`` and reused.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if sys.path[0] != str(ROOT):  # first, before bench/ (whose engine.py is not the package)
    sys.path.insert(0, str(ROOT))

import engine  # noqa: E402
from engine.evaluator import CompiledModel  # noqa: E402
from tests.impact.cases import START, TABLE, presentation, typical_facts  # noqa: E402

WORKBOOK = ROOT / "decision_tables" / "muscle_twitching.xlsx"
TRIAGE = Path(sys.executable).parent / "triage"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/impact_bench"
_MODEL: CompiledModel | None = None
_SEEN: dict[int, Any] = {}  # presentation -> (facts, decision), in a building process


# --- the audit trail -------------------------------------------------------------------------


def _rows(task: tuple[int, int, int | None]) -> list[tuple[Any, ...]]:
    """Rows ``start`` to ``start + count`` of the trail, evaluated in a worker process."""
    global _MODEL
    if _MODEL is None:
        _MODEL = engine.load(WORKBOOK)
    start, count, distinct = task
    rng = random.Random(start)
    rows = []
    for n in range(start, start + count):
        if distinct is None:
            facts = typical_facts(_MODEL, rng)
            decision = _MODEL.evaluate(facts)
        else:  # each presentation evaluated once per building process
            k = rng.randrange(distinct)
            if k not in _SEEN:
                facts = presentation(_MODEL, k)
                _SEEN[k] = facts, _MODEL.evaluate(facts)
            facts, decision = _SEEN[k]
        at = (START + dt.timedelta(seconds=n)).replace(tzinfo=None)
        rows.append((f"req-{n:08d}", None, at.isoformat(" ", "microseconds"), TABLE,
                     _MODEL.version, json.dumps(facts), json.dumps(dict(decision.outputs)),
                     json.dumps([f.as_dict() for f in decision.fired])))
    return rows


def build_sqlite(path: Path, cases: int, say: Any, distinct: int | None = None) -> None:
    """The trail in SQLite, through the service's own schema."""
    from service.audit import AuditLog

    if path.exists():
        with sqlite3.connect(path) as connection:
            if connection.execute("SELECT count(*) FROM evaluations").fetchone()[0] == cases:
                return
        path.unlink()
    log = AuditLog(f"sqlite:///{path}")
    log.create_schema()
    log.dispose()
    say(f"building {cases:,} audited cases in {path} (once)")
    step = 5000
    with sqlite3.connect(path) as connection, ProcessPoolExecutor(os.cpu_count()) as pool:
        tasks = [(s, min(step, cases - s), distinct) for s in range(0, cases, step)]
        for rows in pool.map(_rows, tasks):
            connection.executemany(
                "INSERT INTO evaluations (request_id, case_index, evaluated_at, table_id, "
                "version, facts, outputs, fired) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            connection.commit()


def build_postgres(url: str, sqlite_path: Path, cases: int, say: Any) -> None:
    """The same rows in PostgreSQL (its own database, created if missing), copied with COPY."""
    import psycopg
    import sqlalchemy as sa

    from service.audit import AuditLog

    target = sa.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"),
                                    {"d": target.database}).first()
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    log = AuditLog(url)
    log.create_schema()
    log.dispose()
    dsn = target.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as connection:
        if connection.execute("SELECT count(*) FROM evaluations").fetchone()[0] == cases:
            return
        say(f"copying {cases:,} audited cases into PostgreSQL (once)")
        connection.execute("TRUNCATE evaluations")
        with sqlite3.connect(sqlite_path) as source, connection.cursor() as cursor:
            columns = ("request_id, case_index, evaluated_at, table_id, version, facts, "
                       "outputs, fired")
            with cursor.copy(f"COPY evaluations ({columns}) FROM STDIN") as copy:
                for row in source.execute(f"SELECT {columns} FROM evaluations ORDER BY id"):
                    copy.write_row(row)
        connection.execute("ANALYZE evaluations")


# --- replay ---------------------------------------------------------------------------------


def candidate(folder: Path) -> Path:
    """Rule D13 (progressive weakness and wasting: urgent referral) says routine GP: a
    down-triage."""
    import shutil

    import openpyxl

    path = folder / "candidate.xlsx"
    shutil.copy(WORKBOOK, path)
    book = openpyxl.load_workbook(path)
    book["Disposition"]["Y21"] = "ROUTINE_GP"
    book.save(path)
    return path


def run_measured(command: list[str]) -> tuple[float, float, float, int]:
    """Wall seconds, peak memory of the process tree (MB: the sum of each process's
    proportional set size, so pages the workers share are counted once), peak RSS of the
    main process (MB), exit code."""
    import psutil

    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watched = psutil.Process(process.pid)
    tree_peak = main_peak = 0.0
    while process.poll() is None:
        try:
            main = watched.memory_info().rss
            total = watched.memory_full_info().pss + sum(
                c.memory_full_info().pss for c in watched.children(recursive=True))
        except psutil.Error:
            total = main = 0
        tree_peak, main_peak = max(tree_peak, total / 2**20), max(main_peak, main / 2**20)
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    if process.returncode not in (0, 1):
        raise RuntimeError(f"{command[:3]} failed: {process.stderr.read().decode()[-500:]}")
    return seconds, tree_peak, main_peak, process.returncode


def bench_replay(url: str, cand: Path, out: Path) -> dict[str, Any]:
    seconds, tree, main, code = run_measured(
        [str(TRIAGE), "replay", str(cand), "--database-url", url, "--format", "json",
         "-o", str(out)])
    data = json.loads(out.read_text())
    return {"cases": data["cases"], "seconds": round(seconds, 1),
            "cases_per_s": round(data["cases"] / seconds), "peak_rss_tree_mb": round(tree),
            "peak_rss_main_mb": round(main), "down_triaged": data["down_triaged"],
            "changed": data["changed"], "workers": data["workers"], "exit_code": code,
            "evaluated": data["evaluated"]}


# --- Spark ----------------------------------------------------------------------------------


def bench_spark(sqlite_path: Path, cases: int, folder: Path, cand: Path) -> dict[str, Any]:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = folder / f"audit-{cases}.parquet"
    if not parquet.exists():
        with sqlite3.connect(sqlite_path) as connection:
            writer = None
            for chunk in pd.read_sql_query(
                    f"SELECT request_id, facts, outputs FROM evaluations ORDER BY id "
                    f"LIMIT {cases}", connection, chunksize=50_000):
                table = pa.Table.from_pandas(chunk, preserve_index=False)
                writer = writer or pq.ParquetWriter(parquet, table.schema)
                writer.write_table(table)
            if writer is not None:
                writer.close()
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from engine.spark import evaluate_spark

    session = (SparkSession.builder.master("local[2]").appName("bench-impact")
               .config("spark.ui.enabled", "false").config("spark.driver.memory", "2g")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    audit = session.read.parquet(str(parquet))
    started = time.perf_counter()
    answers = evaluate_spark(audit, cand, keep=["request_id"], facts_column="facts")
    row = answers.agg(F.count("*").alias("n"), F.count("error").alias("errors"),
                      F.sum((F.col("disposition") == "ROUTINE_GP").cast("int")).alias("gp")
                      ).collect()[0]
    seconds = time.perf_counter() - started
    session.stop()
    return {"cases": row["n"], "seconds": round(seconds, 1),
            "cases_per_s": round(row["n"] / seconds), "errors": row["errors"]}


# --- diff -----------------------------------------------------------------------------------

AGES = [(0, 17), (18, 29), (30, 39), (40, 49), (50, 59), (60, 64), (65, 69), (70, 79),
        (80, 89), (90, 120)]
TEMPS = [35.0, 36.0, 36.5, 37.0, 37.5, 38.0, 38.5, 39.0, 39.5, 40.0]  # lower bounds
PATTERNS = ["focal", "multifocal", "widespread"]
SEVERITY = ["none", "mild", "moderate", "severe", "extreme"]
LEVELS = ["EMERGENCY", "URGENT", "SOON", "ROUTINE", "SELF_CARE"]


def grid_sheets(changed: bool) -> list[Any]:
    """A 3,000-row PRIORITY table, one row per combination of five inputs; ``changed`` gives
    30 rows another output and moves 10 temperature boundaries (on both rows that share one,
    so the table stays complete and without overlap)."""
    from engine.workbook import Sheet

    rng = random.Random(11)
    rows = []
    moved = {rng.randrange(3000) for _ in range(10)} if changed else set()
    recoded = {rng.randrange(3000): rng.choice(LEVELS) for _ in range(30)} if changed else {}
    n = 0
    for lo, hi in AGES:
        for p in PATTERNS:
            for s_i, s in enumerate(SEVERITY):
                for flag in (False, True):
                    for t_i, t in enumerate(TEMPS):
                        level = LEVELS[max(0, 4 - s_i - (2 if flag else 0) - (t_i >= 6))]
                        level = recoded.get(n, level)
                        low = t + (0.2 if n in moved and t_i > 0 else 0)
                        upper_index = n + 1 if t_i < len(TEMPS) - 1 else None
                        high = TEMPS[t_i + 1] + (0.2 if upper_index in moved else 0) \
                            if t_i < len(TEMPS) - 1 else None
                        temp = f"[{low}..{high})" if high is not None else f">= {low}"
                        if t_i == 0:
                            temp = f"< {high}"
                        rows.append((f"R{n + 1}", f"[{lo}..{hi}]", p, s, flag, temp, level,
                                     "bench grid"))
                        n += 1
    about = Sheet("About", (("Field", "Value"), ("Table id", "grid"), ("Version", "1.0.0"),
                            ("Owner", "bench"), ("Clinical reviewer", "bench"),
                            ("Review date", "2026-01-01")))
    inputs = Sheet("Inputs", (
        ("Name", "Type", "Unit", "Allowed values", "Required", "Description"),
        ("age", "integer", "years", "[0..120]", "yes", "age"),
        ("pattern", "enum", None, ", ".join(PATTERNS), "yes", "pattern"),
        ("severity", "enum", None, ", ".join(SEVERITY), "yes", "severity"),
        ("flag", "boolean", None, None, "yes", "flag"),
        ("temperature", "number", "C", "[30..45]", "yes", "temperature"),
    ))
    table = Sheet("Grid", (
        ("Table", "urgency"), ("Hit policy", "PRIORITY"), ("Description", "grid"), (),
        ("Kind", "Input", "Input", "Input", "Input", "Input", "Output", "Citation"),
        ("Name", "age", "pattern", "severity", "flag", "temperature", "urgency"),
        ("Output values", None, None, None, None, None, ", ".join(LEVELS)),
        ("Default",), *rows))
    return [about, inputs, table]


def bench_diff(folder: Path) -> dict[str, Any]:
    from tests.xlsx import write_workbook

    old, new = folder / "grid-old.xlsx", folder / "grid-new.xlsx"
    write_workbook(old, grid_sheets(False))
    write_workbook(new, grid_sheets(True))
    out = folder / "diff.json"
    started = time.perf_counter()
    result = subprocess.run([str(TRIAGE), "diff", str(old), str(new), "--format", "json",
                             "-o", str(out)], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 1:
        raise RuntimeError(f"triage diff gave {result.returncode}: {result.stderr[-500:]}")
    data = json.loads(out.read_text())
    loaded = time.perf_counter()
    a, b = engine.load(old), engine.load(new)
    load_s = time.perf_counter() - loaded
    from engine.impact.diff import diff

    started_diff = time.perf_counter()
    report = diff(a, b)
    diff_s = time.perf_counter() - started_diff
    return {"rows": 3000, "seconds_end_to_end": round(seconds, 2),
            "seconds_loading_both": round(load_s, 2), "seconds_diff": round(diff_s, 2),
            "regions": len(data["regions"]), "counts": data["counts"],
            "regions_explored": report.explored,
            "changed_rules": len(data["row_changes"]["rules"])}


# --- evaluate_frame ---------------------------------------------------------------------------


def bench_frame(cases: int) -> dict[str, Any]:
    import pandas as pd

    model = engine.load(WORKBOOK)
    rng = random.Random(5)
    facts = [typical_facts(model, rng) for _ in range(cases)]
    frame = pd.DataFrame.from_records(facts)
    loop_s, frame_s = [], []
    for _ in range(2):  # alternate, keep the faster of two: the machine is shared
        started = time.perf_counter()
        for case in facts:
            model.evaluate(case)
        loop_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        answers = model.evaluate_frame(frame)
        frame_s.append(time.perf_counter() - started)
    assert answers["error"].isna().all()
    best_loop, best_frame = min(loop_s), min(frame_s)
    return {"cases": cases, "loop_s": round(best_loop, 2), "frame_s": round(best_frame, 2),
            "ratio": round(best_frame / best_loop, 3),
            "us_per_case_loop": round(best_loop / cases * 1e6, 1)}


# --- the run --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--spark-cases", type=int, default=200_000)
    parser.add_argument("--frame-cases", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path,
                        default=Path(tempfile.gettempdir()) / "triage-impact-bench")
    parser.add_argument("--postgres-url", default=os.environ.get("TRIAGE_BENCH_PG", PG_DEFAULT))
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--only", choices=["frame", "diff", "replay"], default=None)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--distinct", type=int, default=None,
                        help="audit made of this many distinct presentations, each case one "
                        "of them drawn at random (default: every case distinct)")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)

    def say(text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    report: dict[str, Any] = {"load_average_start": os.getloadavg()[0],
                              "cpus": os.cpu_count()}
    if args.only in (None, "frame"):
        say(f"evaluate_frame against a loop of evaluate, {args.frame_cases:,} cases")
        report["frame"] = bench_frame(args.frame_cases)
    if args.only in (None, "diff"):
        say("triage diff of two 3,000-row versions")
        report["diff"] = bench_diff(args.workdir)
    if args.only in (None, "replay"):
        mix = "" if args.distinct is None else f"-d{args.distinct}"
        sqlite_path = args.workdir / f"audit-{args.cases}{mix}.sqlite3"
        build_sqlite(sqlite_path, args.cases, say, args.distinct)
        if mix:  # a database of its own for each mix
            args.postgres_url = args.postgres_url + mix.replace("-", "_")
        cand = candidate(args.workdir)
        say(f"triage replay of {args.cases:,} cases on SQLite")
        report["replay_sqlite"] = bench_replay(f"sqlite:///{sqlite_path}", cand,
                                               args.workdir / "replay-sqlite.json")
        if not args.no_postgres:
            build_postgres(args.postgres_url, sqlite_path, args.cases, say)
            say(f"triage replay of {args.cases:,} cases on PostgreSQL")
            report["replay_postgresql"] = bench_replay(args.postgres_url, cand,
                                                       args.workdir / "replay-pg.json")
        if not args.no_spark:
            spark_cases = min(args.spark_cases, args.cases)
            say(f"Spark local[2] on {spark_cases:,} of the cases")
            report["spark"] = bench_spark(sqlite_path, spark_cases, args.workdir, cand)
    report["load_average_end"] = os.getloadavg()[0]
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


def render(report: dict[str, Any]) -> str:
    lines = [f"machine: {report['cpus']} cpus, load average {report['load_average_start']:.1f}"
             f" at the start, {report['load_average_end']:.1f} at the end"]
    if "frame" in report:
        f = report["frame"]
        lines.append(f"evaluate_frame, {f['cases']:,} cases: {f['frame_s']} s; loop of "
                     f"evaluate {f['loop_s']} s ({f['us_per_case_loop']} us a case): "
                     f"{f['ratio']}x (target <= 1.5x)")
    if "diff" in report:
        d = report["diff"]
        lines.append(f"triage diff, two {d['rows']:,}-row versions: {d['seconds_end_to_end']} s "
                     f"end to end (loading both {d['seconds_loading_both']} s, diff "
                     f"{d['seconds_diff']} s; {d['regions']} regions, {d['counts']}) "
                     "(target <= 10 s)")
    for key, name in (("replay_sqlite", "SQLite"), ("replay_postgresql", "PostgreSQL")):
        if key in report:
            r = report[key]
            lines.append(f"triage replay, {r['cases']:,} cases on {name}: {r['seconds']} s "
                         f"({r['cases_per_s']:,} cases/s, {r['workers']} workers), peak memory "
                         f"{r['peak_rss_tree_mb']} MB for all processes (PSS; main process RSS "
                         f"{r['peak_rss_main_mb']} MB); {r['evaluated']:,} distinct facts "
                         f"evaluated; {r['down_triaged']:,} down-triaged "
                         "(target <= 90 s, <= 500 MB)")
    if "spark" in report:
        s = report["spark"]
        lines.append(f"Spark local[2], {s['cases']:,} cases: {s['seconds']} s "
                     f"({s['cases_per_s']:,} cases/s)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
