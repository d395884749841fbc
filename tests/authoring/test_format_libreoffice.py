"""A workbook written by `triage format` opens in LibreOffice: ``soffice --headless
--convert-to pdf`` converts it without an error, as a person or a CI job would run it.
Skips, saying how to install LibreOffice, where it is absent."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.authoring import format_workbook
from engine.loader import content_version
from engine.workbook import read_workbook
from tests.conftest import make_minimal_sheets
from tests.libreoffice.office import convert_to, soffice

BUNDLED = Path(__file__).resolve().parents[2] / "decision_tables" / "muscle_twitching.xlsx"


def test_formatted_workbooks_convert_to_pdf(
    tmp_path: Path, tmp_workbook: Callable[..., Path]
) -> None:
    if soffice() is None:
        pytest.skip(
            "LibreOffice is not installed (no soffice on PATH); run `make test` as root, "
            "or: sudo apt-get install libreoffice-calc-nogui"
        )
    bundled = Path(shutil.copy(BUNDLED, tmp_path / "bundled.xlsx"))
    minimal = tmp_workbook(make_minimal_sheets(), "minimal.xlsx")
    for path in (bundled, minimal):
        format_workbook(path)
        assert not format_workbook(path, check=True).changed
    made = convert_to([bundled, minimal], "pdf", tmp_path / "pdf", tmp_path / "profile")
    for pdf in made:
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF") and b"%%EOF" in data[-1024:]
        assert len(data) > 5_000  # pages with the cells, not an empty document


def test_a_workbook_saved_by_libreoffice_formats_with_its_content_kept(tmp_path: Path) -> None:
    if soffice() is None:
        pytest.skip(
            "LibreOffice is not installed (no soffice on PATH); run `make test` as root, "
            "or: sudo apt-get install libreoffice-calc-nogui"
        )
    source = Path(shutil.copy(BUNDLED, tmp_path / "source.xlsx"))
    format_workbook(source)
    (resaved,) = convert_to([source], "xlsx", tmp_path / "resaved", tmp_path / "profile")
    version = content_version(read_workbook(source))
    assert content_version(read_workbook(resaved)) == version
    format_workbook(resaved)
    assert content_version(read_workbook(resaved)) == version
    assert not format_workbook(resaved, check=True).changed
