"""The bodies of ``triage diff``, ``triage replay`` and ``triage coverage`` (their options
are declared in :mod:`engine.cli`). Every failure the user can fix is one line and exit code
2, through :class:`engine.cli.TriageCLIError`; the exit code of a run that worked says
whether behaviour changed (0 no, 1 yes)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from engine.errors import TriageError
from engine.evaluator import CompiledModel
from engine.impact.auditdb import AuditSource, AuditSourceError


def fail(message: str) -> NoReturn:
    from engine.cli import TriageCLIError

    raise TriageCLIError(message, 2)


def parse_time(text: str | None, option: str) -> dt.datetime | None:
    """An ISO 8601 time; without an offset it is UTC, as the audit trail keeps it."""
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option} '{text}' is not a time — write one such as 2026-05-01 or "
             "2026-05-01T09:30:00Z")
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def load_workbook(path: str, role: str) -> CompiledModel:
    from engine.loader import load

    try:
        return load(path)
    except TriageError as error:
        first = str(error).splitlines()
        more = f" (and {len(first) - 2} more problems: run triage validate)" if len(
            first) > 2 else ""
        detail = first[1].strip() if len(first) > 1 else first[0]
        fail(f"the {role} workbook {path} cannot be loaded: {detail}{more}")


def open_source(url: str) -> AuditSource:
    try:
        return AuditSource(url)
    except AuditSourceError as error:
        fail(str(error))


def write(text: str, output: str) -> None:
    if output == "-":
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror or error}")


# --- diff ----------------------------------------------------------------------------------


def run_diff(old: str, new: str, fmt: str, output: str, database_url: str | None,
             table: str | None, outputs: tuple[str, ...] = (),
             max_regions: int | None = None) -> int:
    from engine.impact.diff import diff
    from engine.impact.diffformat import render
    from engine.impact.semantic import DiffTooLarge

    source = open_source(database_url) if database_url else None
    try:
        before = _version_or_file(old, "old", source, table)
        after = _version_or_file(new, "new", source, table)
    finally:
        if source is not None:
            source.close()
    for name in outputs:
        if before.output(name) is None or after.output(name) is None:
            fail(f"--output-name: '{name}' is not an output of both versions")
    try:
        report = diff(before, after, max_regions, outputs)
    except DiffTooLarge as error:
        fail(f"{error}; compare fewer outputs with --output-name, or replay the audited "
             "cases with triage replay")
    write(render(report, fmt), output)
    return 0 if report.identical else 1


def _version_or_file(argument: str, role: str, source: AuditSource | None,
                     table: str | None) -> CompiledModel:
    if Path(argument).exists() or source is None:
        if not Path(argument).exists():
            fail(f"{role}: no file '{argument}' — give a workbook file, or a stored version "
                 "id with --database-url")
        return load_workbook(argument, role)
    from engine.impact.replay import load_bytes

    try:
        name, content = source.stored_version(argument, table)
    except AuditSourceError as error:
        fail(f"{role}: {error}")
    try:
        return load_bytes(content, Path(name).suffix or ".xlsx", name)
    except TriageError as error:
        fail(f"{role}: stored version '{argument}' cannot be loaded: "
             f"{str(error).splitlines()[0]}")


# --- replay --------------------------------------------------------------------------------


def run_replay(candidate_path: str, database_url: str, table: str | None, since: str | None,
               until: str | None, fmt: str, output: str, workers: int | None,
               output_name: str | None) -> int:
    from engine.impact.replay import CorruptAuditRow, replay
    from engine.impact.replayformat import csv_header, csv_rows, render, summary, write_json

    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    candidate = load_workbook(candidate_path, "candidate")
    if output_name is not None and candidate.output(output_name) is None:
        names = ", ".join(o.name for t in candidate.tables for o in t.outputs)
        fail(f"--output-name: the candidate has no output '{output_name}' (outputs: {names})")
    table_id = table or candidate.about.table_id
    with open_source(database_url) as source:
        try:
            source.require_table(table_id)
            total = source.count(table_id, start, end)
        except AuditSourceError as error:
            fail(str(error))
        sink: Any = None
        on_listed = None
        if fmt == "csv":
            sink = sys.stdout if output == "-" else _open(output)
            name = output_name or _default_output(candidate)
            sink.write(csv_header(name))

            def on_listed(rows: list[dict[str, Any]]) -> None:
                sink.write(csv_rows(rows, name))

        bar = _progress(total)
        try:
            run = replay(source, candidate_path, candidate, table_id, start, end, output_name,
                         workers, progress=bar.update if bar is not None else None,
                         on_listed=on_listed)
        except (CorruptAuditRow, AuditSourceError) as error:
            fail(str(error))
        finally:
            if bar is not None:
                bar.close()
            if sink is not None and sink is not sys.stdout:
                sink.close()
    with run:  # the listed cases are read back from disk here, then deleted
        if fmt == "json":  # streamed: every listed case, never all of them in memory
            sink = sys.stdout if output == "-" else _open(output)
            try:
                write_json(run, sink)
            finally:
                if sink is not sys.stdout:
                    sink.close()
        elif fmt != "csv":
            write(render(run, fmt), output)
        else:
            data = summary(run, 0)
            click.echo(f"{data['cases']:,} cases replayed: {data['changed']:,} changed, "
                       f"{data['down_triaged']:,} down-triaged, {data['refused']:,} refused",
                       err=True)
    return 1 if run.outcome.changed else 0


def _default_output(model: CompiledModel) -> str:
    from engine.impact.diff import ordered_outputs

    ordered = ordered_outputs(model.model)
    return ordered[-1].name if ordered else model.tables[-1].outputs[0].name


def _open(path: str) -> Any:
    try:
        return open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed by caller
    except OSError as error:
        fail(f"cannot write {path}: {error.strerror or error}")


def _progress(total: int) -> Any:
    """A progress bar on standard error when it is a terminal; None otherwise."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="case", unit_scale=True, desc="replay", file=sys.stderr)


# --- coverage ------------------------------------------------------------------------------


def run_coverage(database_url: str, table: str | None, since: str | None, until: str | None,
                 workbooks: tuple[str, ...], fmt: str, output: str) -> int:
    import json

    from engine.impact.coverage import production_coverage, render_text

    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    models = [load_workbook(p, "given").model for p in workbooks]
    with open_source(database_url) as source:
        try:
            if table is not None:
                source.require_table(table)
            report = production_coverage(source, table, start, end, models,
                                         stored=lambda t, v: _stored_model(source, t, v))
        except AuditSourceError as error:
            fail(str(error))
    if fmt == "json":
        write(json.dumps(report, indent=2, ensure_ascii=False) + "\n", output)
    else:
        write(render_text(report), output)
    return 0


def _stored_model(source: AuditSource, table_id: str, version: str) -> Any:
    from engine.impact.replay import model_from_bytes

    name, content = source.stored_version(version, table_id)
    try:
        return model_from_bytes(content, Path(name).suffix or ".xlsx")
    except TriageError:
        return None
