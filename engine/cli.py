"""The ``triage`` command line. The one place that turns engine errors into messages and exit
codes: 0 success, 1 the input was understood but is wrong (bad facts, a hit-policy
violation, workbook problems), 2 usage errors and files that cannot be read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from engine.errors import (
    EngineFailure,
    FactError,
    HitPolicyViolation,
    TriageError,
    UnreadableFile,
    WorkbookError,
)
from engine.evaluator import CompiledModel
from engine.loader import load
from engine.workbook import WORKBOOK_SUFFIXES


class TriageCLIError(click.ClickException):
    """A project error shown as ``Error: …`` lines, with the project's exit code."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.code = exit_code

    @property  # type: ignore[override]
    def exit_code(self) -> int:  # type: ignore[override]
        return self.code

    def show(self, file: Any = None) -> None:
        for line in self.message.splitlines():
            click.echo(f"Error: {line.strip()}", err=True)


def _fail(error: TriageError) -> NoReturn:
    if isinstance(error, WorkbookError):
        head = f"{error.source}: " if error.source else ""
        lines = "\n".join(head + str(p) for p in error.problems)
        raise TriageCLIError(lines, 2 if isinstance(error, UnreadableFile) else 1)
    if isinstance(error, FactError):
        raise TriageCLIError("\n".join(f"fact {p}" for p in error.problems))
    if isinstance(error, HitPolicyViolation | EngineFailure):
        raise TriageCLIError(str(error))
    raise TriageCLIError(str(error))


def _load(path: str) -> CompiledModel:
    try:
        return load(path)
    except TriageError as error:
        _fail(error)


def _print(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@click.group()
@click.version_option(package_name="triage-rules")
def main() -> None:
    """Clinical triage decision tables: compile, evaluate and convert workbooks and DMN."""


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--table", "table_name", help="Show one table only.")
def compile(file: str, table_name: str | None) -> None:  # noqa: A001 - the command's name
    """Print the durable-rules rulesets FILE compiles to, with a readable form of each rule."""
    model = _load(file)
    tables = [t for t in model.tables if table_name in (None, t.name)]
    if not tables:
        names = ", ".join(t.name for t in model.tables)
        raise TriageCLIError(f"no table '{table_name}' (tables: {names})", 2)
    _print(
        {
            "source": model.source,
            "version": model.version,
            "about": vars(model.about),
            "evaluation_order": [t.name for t in model.tables],
            "tables": [model.describe(t) for t in tables],
        }
    )


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--facts",
    "facts_file",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    show_default="standard input",
    help="JSON object of facts.",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Print the decision in the workbook's words (labels), why, and the rules that fired "
    "with their sheet, row and citation, instead of JSON.",
)
def evaluate(file: str, facts_file: str, explain: bool) -> None:
    """Evaluate the facts in FACTS (a JSON object) against FILE and print the decision."""
    facts = _read_facts(facts_file)
    model = _load(file)
    try:
        decision = model.evaluate(facts)
    except TriageError as error:
        _fail(error)
    if explain:
        from engine.explanation import Explainer

        click.echo(Explainer(model.model).report(decision))
        return
    _print(decision.as_dict())


def _read_facts(facts_file: str) -> Any:
    name = "standard input" if facts_file == "-" else facts_file
    try:
        text = sys.stdin.read() if facts_file == "-" else Path(facts_file).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TriageCLIError(f"cannot read facts from {name}: {exc}", 2) from exc
    try:
        facts = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TriageCLIError(
            f"{name}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", 2
        ) from exc
    if not isinstance(facts, dict):
        raise TriageCLIError(f"{name}: facts must be a JSON object of names and values", 2)
    return facts


@main.command()
@click.argument("source", metavar="IN", type=click.Path(dir_okay=False))
@click.argument("target", metavar="OUT", type=click.Path(dir_okay=False))
def convert(source: str, target: str) -> None:
    """Convert a DMN model to a workbook (IN.dmn OUT.xlsx) or a workbook to DMN 1.3
    (IN.xlsx OUT.dmn). IN is loaded and checked first; OUT is written only if it is valid."""
    from engine.convert import dmn_to_workbook, workbook_to_dmn
    from engine.dmn.xml import is_dmn_path

    into, out = Path(source).suffix.lower(), Path(target).suffix.lower()
    if is_dmn_path(source) and out == ".xlsx":
        action = "workbook"
    elif into in WORKBOOK_SUFFIXES and out == ".dmn":
        action = "dmn"
    else:
        raise TriageCLIError(
            f"cannot convert '{source}' to '{target}' — convert a .dmn file to .xlsx, "
            "or an .xlsx workbook to .dmn",
            2,
        )
    try:
        done = dmn_to_workbook(source, target) if action == "workbook" else workbook_to_dmn(
            source, target
        )
    except TriageError as error:
        _fail(error)
    except OSError as exc:
        raise TriageCLIError(f"cannot write {target}: {exc.strerror or exc}", 2) from exc
    for dmn_name, name in done.renamed.items():
        click.echo(f"renamed '{dmn_name}' to {name}")
    for line in done.report:  # one line per kind of content: what went where
        click.echo(line)
    if done.uncited:
        click.echo(
            f"note: {done.uncited} rule{'s have' if done.uncited != 1 else ' has'} no "
            "citation; fill in the Citation column before loading the workbook",
            err=True,
        )
    tables = done.tables
    written = ", ".join(str(p) for p in done.written)
    click.echo(f"wrote {written} ({tables} table{'s' if tables != 1 else ''})")


@main.command("new")
@click.argument("table_id")
@click.argument("target", metavar="OUT.xlsx", type=click.Path(dir_okay=False))
@click.option("--title", default="", help="The table's title (About sheet).")
@click.option("--force", is_flag=True, help="Replace OUT.xlsx if it exists.")
def new(table_id: str, target: str, title: str, force: bool) -> None:
    """Write a ready-to-fill workbook for TABLE_ID (snake_case) to OUT.xlsx: every sheet with
    one worked example row, passing `triage validate` as it is."""
    from engine.authoring.new import NewWorkbookError, new_workbook

    try:
        new_workbook(table_id, target, title, force)
    except NewWorkbookError as error:
        raise TriageCLIError(error.message, 2 if error.usage else 1) from error
    except OSError as exc:
        raise TriageCLIError(f"cannot write {target}: {exc.strerror or exc}", 2) from exc
    click.echo(f"wrote {target}: replace the example rows, then run triage validate {target}")


@main.command("format")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True,
              help="Change nothing; exit 1 when the workbook is not formatted (for CI).")
def format_command(file: str, check: bool) -> None:
    """Rebuild FILE's drop-downs, header notes, colours, frozen headings, column widths and
    its Lists and How to edit sheets from its content. No cell's content changes.

    Exit code 0 when FILE is formatted (now, or already with --check), 1 with --check when it
    is not, or when the workbook does not load; 2 when it cannot be read."""
    from engine.authoring.format import FormatRefused, format_workbook

    try:
        result = format_workbook(file, check=check)
    except FormatRefused as error:
        raise TriageCLIError(str(error), 2) from error
    except TriageError as error:
        _fail(error)
    except OSError as exc:  # on Windows, a workbook open in Excel cannot be replaced
        raise TriageCLIError(
            f"cannot write {file}: {exc.strerror or exc} — if it is open in Excel or "
            "LibreOffice, close it there and format again",
            2,
        ) from exc
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if check and result.changed:
        click.echo(f"{file}: not formatted — run: triage format {file}", err=True)
        sys.exit(1)
    click.echo(f"{file}: {'formatted' if result.changed else 'already formatted'}")


# --- validate ------------------------------------------------------------------------------


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "junit"]),
    default="text",
    show_default=True,
    help="Readable text, JSON, or JUnit XML for CI systems.",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option(
    "--release",
    is_flag=True,
    help="Check what a release needs: --strict, the About sheet's review fields filled in, "
    "every property proven and every rule covered by a vignette.",
)
@click.option(
    "--annotate",
    "annotated",
    type=click.Path(dir_okay=False),
    help="Write a copy of the workbook with every finding highlighted and commented.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    show_default="standard output",
    help="Write the report to this file.",
)
@click.option("--color/--no-color", default=None, help="Colour the text (default: on a terminal).")
@click.option("--no-vignettes", is_flag=True, help="Do not run the Tests sheet.")
def validate(
    file: str,
    fmt: str,
    strict: bool,
    release: bool,
    annotated: str | None,
    output: str,
    color: bool | None,
    no_vignettes: bool,
) -> None:
    """Check FILE (a workbook or DMN file) and report every problem with its cell and a fix.

    Exit code 0 when there is no error (warnings allowed), 1 for errors or failing
    vignettes (and warnings with --strict or --release), 2 when the file cannot be read.
    FILE is never changed."""
    from engine.validation import render
    from engine.validation.annotate import AnnotateError, annotate
    from engine.validation.runner import validate as run_checks

    if annotated and Path(annotated).resolve() == Path(file).resolve():
        raise TriageCLIError("--annotate must name a new file, not the workbook itself", 2)
    report = run_checks(file, vignettes=not no_vignettes, release=release)
    if not report.readable and fmt == "text":
        first = report.findings[0]
        raise TriageCLIError(f"{file}: {first.message} — {first.fix}", 2)
    if annotated and report.readable:
        try:
            count = annotate(file, annotated, report)
            _format_annotated(annotated)
        except AnnotateError as exc:
            raise TriageCLIError(str(exc), 2) from exc
        except OSError as exc:
            raise TriageCLIError(f"cannot write {annotated}: {exc.strerror or exc}", 2) from exc
        click.echo(f"wrote {annotated} ({count} cells annotated)", err=True)
    use_color = color if color is not None else output == "-" and sys.stdout.isatty()
    text = render(report, fmt, color=bool(use_color) and fmt == "text", strict=strict)
    if output == "-":
        click.echo(text, nl=False, color=bool(use_color))
    else:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise TriageCLIError(f"cannot write {output}: {exc.strerror or exc}", 2) from exc
    code = report.exit_code(strict)
    if code:
        sys.exit(code)


def _format_annotated(path: str) -> None:
    """The annotated copy comes out formatted, like every workbook the commands write; a
    copy of a workbook that does not load is left as annotated."""
    from engine.authoring.format import leave_formatted

    leave_formatted(path)  # its line is not printed: the findings already say why it does not load


@main.command()
@click.option(
    "--tables",
    "tables_dir",
    default="decision_tables",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder of workbooks (*.xlsx, *.ods) and DMN models (*.dmn, *.dmn11.xml) to serve; "
    "watched for changes.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers", default=2, show_default=True, type=click.IntRange(1, 64),
    help="Worker processes (each loads its own copy of the tables).",
)
@click.option(
    "--threads", default=1, show_default=True, type=click.IntRange(1, 64),
    help="Threads per worker; more than 1 uses gunicorn's gthread worker.",
)
@click.option(
    "--database-url",
    envvar="TRIAGE_DATABASE_URL",
    default=None,
    help="SQLAlchemy URL of the audit database (postgresql+psycopg://...). "
    "Default: SQLite in instance/audit.sqlite3.",
)
@click.option(
    "--log-level", default="info", show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@click.option(
    "--release-only", envvar="TRIAGE_RELEASE_ONLY", is_flag=True, default=False,
    help="Serve only workbooks that pass `triage validate --release`; any other is refused "
    "with the reasons (GET /v1/tables). Without it drafts serve, marked \"released\": false.",
)
def serve(
    tables_dir: str,
    host: str,
    port: int,
    workers: int,
    threads: int,
    database_url: str | None,
    log_level: str,
    release_only: bool,
) -> None:
    """Serve the tables in --tables as a JSON API under gunicorn (see docs/service.md).
    Admin endpoints need TRIAGE_ADMIN_TOKEN; TRIAGE_API_TOKEN protects evaluation too."""
    if not Path(tables_dir).is_dir():
        raise TriageCLIError(f"no folder '{tables_dir}' — give --tables a folder of workbooks", 2)
    from service.serve import run

    try:
        run(tables_dir, host, port, workers, threads, database_url, log_level, release_only)
    except ValueError as exc:  # a setting the service refuses (service.config.ConfigError)
        raise TriageCLIError(str(exc), 2) from exc


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              show_default="standard output")
@click.option("--base-url", default="http://127.0.0.1:8000", show_default=True,
              help="The service's public URL; the questionnaire's canonical URL is "
              "<base-url>/Questionnaire/<table id>, as GET /v1/tables/<id>/questionnaire gives.")
def questionnaire(file: str, output: str, base_url: str) -> None:
    """Write the FHIR R4 Questionnaire FILE's Inputs sheet makes (docs/ehr.md)."""
    from engine.fhir.questionnaire import check_r4
    from engine.fhir.questionnaire import questionnaire as build

    document = build(_load(file).model, base_url)
    try:
        check_r4(document)
    except TriageError as error:
        _fail(error)
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if output == "-":
        click.echo(text)
        return
    try:
        Path(output).write_text(text + "\n", "utf-8")
    except OSError as exc:
        raise TriageCLIError(f"cannot write {output}: {exc.strerror or exc}", 2) from exc


# --- impact of a change: diff, replay, coverage (bodies in engine/impact/commands.py) --------


@main.command()
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              show_default="standard output", help="Write the report to this file.")
@click.option("--database-url", envvar="TRIAGE_DATABASE_URL", default=None,
              help="Database of the version store, to name OLD or NEW by stored version id.")
@click.option("--table", "table", default=None, help="Table id of a stored version.")
@click.option("--output-name", "outputs", multiple=True,
              help="Compare only this output (repeatable). Default: every output.")
@click.option("--max-regions", type=click.IntRange(1000), default=None,
              help="Give up beyond this many regions explored (default 400,000).")
def diff(old: str, new: str, fmt: str, output: str, database_url: str | None,
         table: str | None, outputs: tuple[str, ...], max_regions: int | None) -> None:
    """What changed from OLD to NEW (workbook files or stored version ids): rules added,
    removed and changed, and every region of cases answered differently, down-triage first.

    Exit code 0 when every case gets the same answer, 1 when behaviour differs, 2 when an
    input cannot be read."""
    from engine.impact.commands import run_diff

    sys.exit(run_diff(old, new, fmt, output, database_url, table, outputs, max_regions))


@main.command()
@click.argument("candidate", type=click.Path(dir_okay=False))
@click.option("--database-url", envvar="TRIAGE_DATABASE_URL", required=True,
              help="SQLAlchemy URL of the audit database (opened read-only).")
@click.option("--table", "table", default=None,
              help="Table id in the audit trail. Default: the candidate's.")
@click.option("--since", default=None, help="First evaluation time (ISO 8601, UTC).")
@click.option("--until", default=None, help="Evaluations before this time (ISO 8601, UTC).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html", "csv"]),
              default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              show_default="standard output", help="Write the report to this file.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Worker processes. Default: one per core.")
@click.option("--output-name", default=None,
              help="Output to count transitions of. Default: the last ordered output.")
def replay(candidate: str, database_url: str, table: str | None, since: str | None,
           until: str | None, fmt: str, output: str, workers: int | None,
           output_name: str | None) -> None:
    """Re-evaluate the audited cases against CANDIDATE and report what would change:
    transitions, down-triaged cases with their request ids, rules firing for the first time
    or no longer, and cases the candidate refuses. Never writes to the database.

    Exit code 0 when every case gets the same answer, 1 when some do not, 2 for bad input."""
    from engine.impact.commands import run_replay

    sys.exit(run_replay(candidate, database_url, table, since, until, fmt, output, workers,
                        output_name))


@main.command()
@click.option("--database-url", envvar="TRIAGE_DATABASE_URL", required=True,
              help="SQLAlchemy URL of the audit database (opened read-only).")
@click.option("--table", "table", default=None, help="Only this table id.")
@click.option("--since", default=None, help="First evaluation time (ISO 8601, UTC).")
@click.option("--until", default=None, help="Evaluations before this time (ISO 8601, UTC).")
@click.option("--workbook", "workbooks", multiple=True, type=click.Path(dir_okay=False),
              help="A workbook whose rules to list (matched to audited versions by content).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              show_default="standard output")
def coverage(database_url: str, table: str | None, since: str | None, until: str | None,
             workbooks: tuple[str, ...], fmt: str, output: str) -> None:
    """How often each rule fired in production, per version, and the rules that never
    fired; with the CDS Hooks card feedback in the database, each rule's override rate."""
    from engine.impact.commands import run_coverage

    sys.exit(run_coverage(database_url, table, since, until, workbooks, fmt, output))
