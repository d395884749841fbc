"""`triage format`: rebuilds a workbook's editing helpers (drop-downs, notes, frozen panes,
widths, urgency colours, the ``Lists`` and ``How to edit`` sheets) from its content, without
changing any cell's content.

The steps, and why:

1. **load** the workbook as the engine does (:func:`engine.workbook.read_workbook`, then
   :func:`engine.builder.build_model`): helpers are derived from the model, so a workbook
   that does not load cannot be formatted, and gets the same located problems as
   ``triage validate``; the file is not touched;
2. **plan** every helper (:mod:`engine.authoring.format_plan`) and **apply** it to the file
   opened with openpyxl (:mod:`engine.authoring.format_apply`);
3. **compare** the fingerprint of what formatting owns before and after: equal means the
   file is already formatted, and it is not written at all (so formatting twice leaves the
   file byte for byte as the first run wrote it);
4. **write** to a temporary file beside the target, with fixed zip timestamps and the
   file's own "modified" date, so the same content always gives the same bytes; read it
   back and check that its content version (the hash of every cell the engine reads) is
   the original's; only then rename it over the target.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from engine.authoring.format_apply import apply, fingerprint
from engine.authoring.format_guide import guide
from engine.authoring.format_plan import plan
from engine.builder import build_model
from engine.dmn.xml import is_dmn_path
from engine.errors import Location, Problem, TriageError, WorkbookError
from engine.loader import content_version
from engine.workbook import Sheet, cell_name, read_workbook

SUFFIXES = (".xlsx",)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class FormatRefused(TriageError):
    """The file is not one `triage format` can write (an ``.ods`` file, for example)."""


@dataclass(frozen=True)
class FormatResult:
    """What formatting did (or, with ``check``, would do) to one workbook.

    ``changed`` is true when the file was not already formatted; with ``check=True`` the file
    is never written. ``warnings`` are one-line messages for the user (for example a
    ``~$name.xlsx`` lock file showing that Excel has the workbook open).
    """

    path: Path
    changed: bool
    warnings: tuple[str, ...] = field(default=())


def format_workbook(path: str | Path, *, check: bool = False) -> FormatResult:
    """Format ``path`` in place (through a temporary file renamed over it).

    With ``check=True`` nothing is written; ``FormatResult.changed`` says whether formatting
    would change the file. A workbook that does not load raises the same located
    :class:`engine.errors.WorkbookError` as ``triage validate``; a file of another kind
    raises :class:`FormatRefused`.
    """
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        fix = (
            f"convert it to a workbook first: triage convert {path} {path.stem}.xlsx"
            if is_dmn_path(path)
            else "open the file in LibreOffice or Excel and save it as .xlsx (Excel "
            "Workbook), then format that"
        )
        raise FormatRefused(f"{path}: triage format writes .xlsx workbooks only — {fix}")
    notes = _open_elsewhere(path)
    stamp = _stamp(path)
    sheets = read_workbook(path)
    version = content_version(sheets)
    # citations are for validate to require: a converted or new workbook missing some is
    # exactly one whose author needs the drop-downs and the How to edit sheet
    model = build_model(sheets, version, str(path), require_citations=False)
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():  # openpyxl warns about extensions it drops
            warnings.simplefilter("ignore")
            book = load_workbook(path, rich_text=True)  # a word in bold stays bold
    except Exception as exc:  # openpyxl fails in many ways on files calamine accepts
        raise FormatRefused(
            f"{path}: the workbook cannot be opened for formatting ({exc}) — open it in "
            "Excel or LibreOffice, save it as .xlsx again, then format it"
        ) from exc
    the_plan = plan(sheets, model)
    before = fingerprint(book, the_plan)
    fixed = apply(book, the_plan, guide(model))
    changed = bool(fixed) or fingerprint(book, the_plan) != before
    if changed and not check:
        _replace(path, _saved(book), sheets, version, stamp)
    return FormatResult(path, changed, notes)


def leave_formatted(path: str | Path) -> str:
    """Format a workbook a command has just written (``convert``, ``new``), and say in one
    line what happened. A written workbook that does not build is still the command's result:
    it is kept as written, and the line says why it is not formatted, so the author runs
    ``triage validate`` on it rather than losing it."""
    try:
        format_workbook(path)
    except TriageError as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        return (f"formatting: not done ({first}); run triage validate {path}, then "
                f"triage format {path}")
    return "formatting: drop-downs, header notes, colours and the How to edit sheet rebuilt"


def _open_elsewhere(path: Path) -> tuple[str, ...]:
    """Excel keeps ``~$name.xlsx`` (Office drops the name's first two letters when it is
    long) and LibreOffice ``.~lock.name.xlsx#`` beside a workbook it has open; saving
    there later would put back the unformatted copy it holds."""
    names = dict.fromkeys(
        ("~$" + path.name, "~$" + path.name[2:], f".~lock.{path.name}#")
    )
    locks = [path.with_name(name) for name in names]
    return tuple(
        f"{path}: the workbook seems to be open in Excel or LibreOffice ({lock.name} is "
        "beside it) — close it there without saving, or format it again after saving"
        for lock in locks
        if lock.exists()
    )


def _saved(book: object) -> bytes:
    """The workbook's bytes, the same for the same workbook on every run: openpyxl stamps
    each zip member and the "modified" property with the time of saving."""
    from openpyxl.xml.functions import tostring

    properties = book.properties  # type: ignore[attr-defined]
    modified = properties.modified
    raw = io.BytesIO()
    book.save(raw)  # type: ignore[attr-defined]
    properties.modified = modified
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = tostring(properties.to_tree())
            member = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(member, data)
    return out.getvalue()


def _stamp(path: Path) -> tuple[int, int]:
    try:
        status = path.stat()
    except OSError:
        return (0, 0)  # read_workbook says "file not found"
    return status.st_mtime_ns, status.st_size


def _replace(
    path: Path, data: bytes, sheets: tuple[Sheet, ...], version: str, stamp: tuple[int, int]
) -> None:
    """Write ``data`` beside ``path`` (beside the file a link points to), check it holds the
    same cells, and rename it over, unless the workbook was saved again meanwhile."""
    path = path.resolve()
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".xlsx")
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        written = read_workbook(temporary)
        if content_version(written) != version:
            raise WorkbookError(_changed_cells(sheets, written), str(path))
        os.chmod(temporary, stat.S_IMODE(path.stat().st_mode))
        if _stamp(path) != stamp:
            raise FormatRefused(
                f"{path}: the workbook was saved again while it was being formatted, so it "
                "was left as saved — run triage format again"
            )
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _changed_cells(before: tuple[Sheet, ...], after: tuple[Sheet, ...]) -> list[Problem]:
    """Cells openpyxl could not write back as they were (a formula loses the result another
    program saved with it); the file is left as it was."""
    problems = []
    written = {s.name: s for s in after}
    for sheet in before:
        other = written.get(sheet.name, Sheet(sheet.name, ()))
        for row in range(max(len(sheet.rows), len(other.rows))):
            for col in range(max(sheet.width, other.width)):
                if sheet.value(row, col) != other.value(row, col):
                    problems.append(
                        Problem(
                            Location(sheet.name, cell_name(row, col)),
                            "formatting would change what this cell holds (the result "
                            "saved with its formula cannot be kept), so the file was not "
                            "formatted",
                            "replace the formula by its value (copy the cell, paste as "
                            "values only), then format again",
                            "TV122",
                        )
                    )
    return problems or [
        Problem(None, "formatting would change the workbook's content, so it was not written",
                "please report this, with the file", "TV199")
    ]
