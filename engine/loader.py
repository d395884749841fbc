"""``engine.load``: a workbook or DMN file (or sheets already in memory) to a compiled model."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from engine.builder import build_model, is_read_sheet
from engine.compiler import compile_model
from engine.dmn.xml import is_dmn_path
from engine.evaluator import CompiledModel
from engine.model import Model
from engine.workbook import RawValue, Sheet, read_workbook


def load(path: str | Path) -> CompiledModel:
    """Read, check and compile a workbook, or a DMN model (a ``.dmn`` or ``.xml`` file, see
    :mod:`engine.dmn`). Raises :class:`~engine.errors.WorkbookError` listing every problem
    found."""
    return compile_loaded(read_model(path))


def read_model(path: str | Path) -> Model:
    """The model of a workbook or DMN file, checked but not compiled: for reading a version's
    tables and rules (coverage, reports) without giving durable-rules a ruleset."""
    path = Path(path)
    if is_dmn_path(path):
        from engine.dmn import read_dmn_file

        return read_dmn_file(path)
    sheets = read_workbook(path)
    return build_model(sheets, content_version(sheets), str(path))


def load_sheets(
    sheets: Sequence[Sheet], source: str = "<sheets>", require_citations: bool = True
) -> CompiledModel:
    """The same from sheets built in memory (tests, benchmarks, converters)."""
    return compile_loaded(build_model(sheets, content_version(sheets), source, require_citations))


def compile_loaded(model: Model) -> CompiledModel:
    """A model built by any reader, compiled and loaded into durable-rules."""
    return CompiledModel(model, compile_model(model))


def content_version(sheets: Sequence[Sheet]) -> str:
    """The version of a workbook: a hash of what its cells hold, in the sheets the engine
    reads, and nothing else. Saving the same content again, from Excel or LibreOffice, as
    .xlsx or .ods, with other styles, drop-downs, comments or helper sheets, gives the same
    version; changing any cell the engine reads gives another."""
    read = sorted((s for s in sheets if is_read_sheet(s)), key=lambda s: s.name.strip().lower())
    canonical = [[s.name.strip().lower(), _rows(s)] for s in read]
    text = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _rows(sheet: Sheet) -> list[list[object]]:
    """The sheet's rows without trailing empty cells and rows, as readers differ there."""
    rows = [[_canonical(v) for v in row] for row in sheet.rows]
    for row in rows:
        while row and row[-1] is None:
            row.pop()
    while rows and not rows[-1]:
        rows.pop()
    return rows


def _canonical(value: RawValue) -> object:
    """One spelling per value: 38.0 and 38 are the same number (readers differ on which
    they give), a date is its ISO text, and a boolean is never a number."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        value = value.date()
    if isinstance(value, dt.date | dt.time):
        return ["date", value.isoformat()]
    return value
