"""``engine.load``: a workbook or DMN file (or sheets already in memory) to a compiled model."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from engine.builder import build_model
from engine.compiler import compile_model
from engine.evaluator import Program
from engine.model import Model
from engine.workbook import Sheet, read_workbook


def load(path: str | Path) -> Model:
    """Read, check and compile a workbook, or a DMN model (a ``.dmn`` file, see
    :mod:`engine.dmn`). Raises :class:`~engine.errors.WorkbookError` listing every problem
    found."""
    path = Path(path)
    if path.suffix.lower() == ".dmn":
        from engine.dmn import read_dmn_file

        return _finish(read_dmn_file(path))
    sheets = read_workbook(path)
    version = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return _finish(build_model(sheets, version, str(path)))


def load_sheets(
    sheets: Sequence[Sheet], source: str = "<sheets>", require_citations: bool = True
) -> Model:
    """The same from sheets built in memory (tests, benchmarks, converters). The version is
    a hash of the cell values."""
    canonical = json.dumps([[s.name, s.rows] for s in sheets], default=str, sort_keys=True)
    version = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return _finish(build_model(sheets, version, source, require_citations))


def _finish(model: Model) -> Model:
    compiled = compile_model(model)
    object.__setattr__(model, "program", Program(model, compiled))
    return model
