"""Hostile and broken files: each is built here, refused with exit code 2 and one message,
in bounded time, by ``triage validate`` and by ``engine.load`` alike (the checks live in
:mod:`engine.filesafety`, on the workbook read path)."""

from __future__ import annotations

import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import filesafety
from engine.cli import main
from engine.errors import UnreadableFile
from engine.filesafety import check_file
from engine.loader import load
from engine.validation import validate
from tests.validation.workbooks import base_sheets, build, with_openpyxl

HOSTILE_CODES = {"TV001", "TV002", "TV003", "TV004", "TV005", "TV006", "TV007"}
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>\n"
)


def _valid(path: Path) -> Path:
    return build(path, base_sheets())


def _rewrite(path: Path, part: str, change: Callable[[bytes], bytes]) -> Path:
    """``part`` changed by ``change`` (given b"" for a part the archive does not hold)."""
    with zipfile.ZipFile(path) as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist()}
    members[part] = change(members.get(part, b""))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def not_a_spreadsheet(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 40)
    return path


def renamed_text(path: Path) -> Path:
    path.write_text("Name,Type\nage_years,integer\n", encoding="utf-8")
    return path


def password_protected(path: Path) -> Path:
    """What Excel writes for a workbook with a password: an OLE compound file holding the
    streams EncryptionInfo and EncryptedPackage (names in UTF-16)."""
    header = filesafety.OLE_MAGIC + bytes(504)
    names = "EncryptionInfo".encode("utf-16-le") + bytes(4) + "EncryptedPackage".encode("utf-16-le")
    path.write_bytes(header + names + bytes(4096))
    return path


def truncated(path: Path) -> Path:
    data = _valid(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def bad_crc(path: Path) -> Path:
    """A member whose data does not match its checksum (bit rot, or a crafted archive)."""
    _valid(path)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet3.xml")
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data = bytearray(path.read_bytes())
    data[start + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def zip_bomb(path: Path) -> Path:
    """A sheet part of 20 MB of zeros, compressed about 1,000 to 1."""
    _valid(path)
    return _rewrite(path, "xl/worksheets/sheet3.xml", lambda data: data + bytes(20 * 2**20))


def entity_expansion(path: Path) -> Path:
    _valid(path)
    return _rewrite(path, "xl/workbook.xml", lambda data: BILLION_LAUGHS + data.split(b"?>", 1)[-1])


def million_rows(path: Path) -> Path:
    def far_cell(book: object) -> None:
        book["Inputs"]["A1048576"] = "x"  # type: ignore[index]

    return build(path, base_sheets(), with_openpyxl(far_cell))


def thousands_of_columns(path: Path) -> Path:
    def wide(book: object) -> None:
        book["Tests"].cell(row=1, column=5000, value="x")  # type: ignore[index]

    return build(path, base_sheets(), with_openpyxl(wide))


def cells_without_references(path: Path) -> Path:
    """A sheet whose cells omit ``r`` (allowed by the format): 3,000 in one row."""
    _valid(path)
    row = b"<row>" + b'<c t="inlineStr"><is><t>x</t></is></c>' * 3000 + b"</row>"
    return _rewrite(
        path,
        "xl/worksheets/sheet5.xml",
        lambda data: data.replace(b"</sheetData>", row + b"</sheetData>"),
    )


def _add(path: Path, part: str, data: bytes) -> Path:
    return _rewrite(path, part, lambda _: data)


def vba_project(path: Path) -> Path:
    """An .xlsm as Excel saves it with macros: the VBA project is one binary part."""
    path = _valid(path.with_suffix(".xlsm"))
    return _add(path, "xl/vbaProject.bin", filesafety.OLE_MAGIC + bytes(504))


def macro_sheet(path: Path) -> Path:
    return _add(_valid(path), "xl/macrosheets/sheet1.xml", b"<xm:macrosheet/>")


def vba_in_legacy_file(path: Path) -> Path:
    """An .xls with macros: an OLE file with a _VBA_PROJECT_CUR storage (name in UTF-16)."""
    path = path.with_suffix(".xls")
    names = "Workbook".encode("utf-16-le") + bytes(4) + "_VBA_PROJECT_CUR".encode("utf-16-le")
    path.write_bytes(filesafety.OLE_MAGIC + bytes(504) + names + bytes(4096))
    return path


def ole_object(path: Path) -> Path:
    """An OLE object on the Tests sheet (sheet5.xml): the part and the sheet's link to it."""
    rels = (
        b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        b'package/2006/relationships"><Relationship Id="rId9" Type="http://schemas.'
        b'openxmlformats.org/officeDocument/2006/relationships/oleObject" '
        b'Target="../embeddings/oleObject1.bin"/></Relationships>'
    )
    _add(_valid(path), "xl/worksheets/_rels/sheet5.xml.rels", rels)
    return _add(path, "xl/embeddings/oleObject1.bin", filesafety.OLE_MAGIC + bytes(504))


def basic_module(path: Path) -> Path:
    """What LibreOffice writes for a Basic module in an .ods (the module declares a DTD,
    which must not be what the refusal says)."""
    path = _ods(path.with_suffix(".ods"), FILLED_ROW.format(repeat=""))
    module = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE script:module PUBLIC '
        b'"-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">\n<script:module '
        b'xmlns:script="http://openoffice.org/2000/script" script:name="Module1" '
        b'script:language="StarBasic">Sub Main\nEnd Sub\n</script:module>'
    )
    _add(path, "Basic/script-lc.xml", b"<library:libraries/>")
    _add(path, "Basic/Standard/script-lb.xml", b"<library:library/>")
    return _add(path, "Basic/Standard/Module1.xml", module)


def python_script(path: Path) -> Path:
    path = _ods(path.with_suffix(".ods"), FILLED_ROW.format(repeat=""))
    return _add(path, "Scripts/python/hello.py", b"def hello(*args):\n    pass\n")


def _manifest(entries: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type='
        f'"application/vnd.oasis.opendocument.spreadsheet"/>{entries}</manifest:manifest>'
    ).encode()


def embedded_document(path: Path) -> Path:
    """A spreadsheet embedded in the About sheet of an .ods, as LibreOffice writes it."""
    frame = (
        '<table:shapes><draw:frame><draw:object xlink:href="./Object 1"/></draw:frame>'
        "</table:shapes>"
    )
    path = _ods(path.with_suffix(".ods"), frame + FILLED_ROW.format(repeat=""))
    _add(path, "Object 1/content.xml", b"<office:document-content/>")
    entry = (
        '<manifest:file-entry manifest:full-path="Object 1/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    )
    return _add(path, "META-INF/manifest.xml", _manifest(entry))


def ods_with_password(path: Path) -> Path:
    """An .ods saved with a password: its parts are encrypted and the manifest says how."""
    path = _ods(path.with_suffix(".ods"), FILLED_ROW.format(repeat=""))
    _rewrite(path, "content.xml", lambda data: bytes(b ^ 0x5A for b in data))
    entry = (
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">'
        '<manifest:encryption-data manifest:checksum-type="SHA256"/></manifest:file-entry>'
    )
    return _add(path, "META-INF/manifest.xml", _manifest(entry))


HOSTILE = [
    ("not-a-spreadsheet", not_a_spreadsheet, "TV001", "not an Excel workbook"),
    ("renamed-text-file", renamed_text, "TV001", "not an Excel workbook"),
    ("password-protected", password_protected, "TV002", "password-protected"),
    ("truncated", truncated, "TV001", "damaged"),
    ("bad-crc", bad_crc, "TV001", "damaged"),
    ("zip-bomb", zip_bomb, "TV003", "zip bomb"),
    ("entity-expansion", entity_expansion, "TV004", "XML entities"),
    ("million-rows", million_rows, "TV005", "row 1,048,576"),
    ("thousands-of-columns", thousands_of_columns, "TV005", "column 5,000"),
    ("cells-without-references", cells_without_references, "TV005", "column 3,000"),
    ("ods-password", ods_with_password, "TV002", "password-protected"),
    ("vba-project", vba_project, "TV006", "macros (VBA project xl/vbaProject.bin)"),
    ("macro-sheet", macro_sheet, "TV006", "Excel 4 macro sheet"),
    ("vba-in-xls", vba_in_legacy_file, "TV006", "a VBA project"),
    ("basic-module", basic_module, "TV006", "Basic module Standard.Module1"),
    ("python-script", python_script, "TV006", "script python/hello.py"),
    ("ole-object", ole_object, "TV007", "sheet 'Tests' holds an embedded object"),
    ("embedded-document", embedded_document, "TV007", "sheet 'About' holds an embedded object"),
]


@pytest.mark.parametrize(("name", "make", "code", "words"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_file_is_refused_with_one_message(
    name: str, make: Callable[[Path], Path], code: str, words: str, tmp_path: Path
) -> None:
    path = make(tmp_path / f"{name}.xlsx")
    before = path.read_bytes()
    start = time.perf_counter()
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert time.perf_counter() - start < 10
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path}: "), result.stderr
    assert words in lines[0]
    assert result.stdout == ""
    report = validate(path)
    assert [(f.code, f.sheet) for f in report.findings] == [(code, None)]
    assert report.exit_code() == 2
    with pytest.raises(UnreadableFile):
        load(path)
    assert path.read_bytes() == before


def test_unreadable_file_as_json_and_junit(tmp_path: Path) -> None:
    path = renamed_text(tmp_path / "notes.xlsx")
    for fmt in ("json", "junit"):
        result = CliRunner().invoke(main, ["validate", str(path), "--format", fmt])
        assert result.exit_code == 2
        assert "TV001" in result.stdout


def test_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nowhere.xlsx")])
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == f"Error: {tmp_path / 'nowhere.xlsx'}: file not found — check the path"
    )


@pytest.mark.parametrize(
    ("limit", "value", "words"),
    [("MAX_UNPACKED_BYTES", 10_000, "would unpack to"), ("MAX_MEMBERS", 3, "parts")],
)
def test_archive_limits(
    limit: str, value: int, words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _valid(tmp_path / "book.xlsx")
    monkeypatch.setattr(filesafety, limit, value)
    with pytest.raises(UnreadableFile) as caught:
        check_file(path)
    assert words in str(caught.value)
    assert validate(path).findings[0].code == "TV003"


def test_file_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _valid(tmp_path / "book.xlsx")
    monkeypatch.setattr(filesafety, "MAX_FILE_BYTES", 100)
    assert validate(path).findings[0].code == "TV003"


def _ods(path: Path, body: str) -> Path:
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"'
        ' xmlns:xlink="http://www.w3.org/1999/xlink"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0">'
        f'<office:body><office:spreadsheet><table:table table:name="About">{body}'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content)
    return path


FILLED_ROW = (
    '<table:table-row{repeat}><table:table-cell office:value-type="string">'
    "<text:p>x</text:p></table:table-cell></table:table-row>"
)


def test_ods_trailing_empty_rows_are_fine(tmp_path: Path) -> None:
    """LibreOffice writes the empty rows down to the end of the sheet as one repeated row."""
    empty = (
        '<table:table-row table:number-rows-repeated="1048570">'
        '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
    )
    check_file(_ods(tmp_path / "book.ods", FILLED_ROW.format(repeat="") + empty))


def test_ods_repeated_rows_with_content_are_refused(tmp_path: Path) -> None:
    repeated = FILLED_ROW.format(repeat=' table:number-rows-repeated="1000000"')
    with pytest.raises(UnreadableFile) as caught:
        check_file(_ods(tmp_path / "book.ods", repeated))
    assert "row 1,000,000" in str(caught.value)


def test_ordinary_workbooks_pass_quickly() -> None:
    root = Path(__file__).resolve().parents[2]
    start = time.perf_counter()
    check_file(root / "decision_tables" / "muscle_twitching.xlsx")
    assert time.perf_counter() - start < 1


def test_charts_and_pictures_are_not_refused(tmp_path: Path) -> None:
    """A chart is an embedded document in an .ods too, but it only draws cells."""
    path = embedded_document(tmp_path / "chart.ods")
    chart = (
        '<manifest:file-entry manifest:full-path="Object 1/" '
        'manifest:media-type="application/vnd.oasis.opendocument.chart"/>'
        '<manifest:file-entry manifest:full-path="Pictures/logo.png" '
        'manifest:media-type="image/png"/>'
    )
    _add(path, "META-INF/manifest.xml", _manifest(chart))
    check_file(path)


def test_an_empty_basic_library_is_no_macro(tmp_path: Path) -> None:
    """LibreOffice may write the Standard library's index with no module in it."""
    path = basic_module(tmp_path / "book.ods")
    with zipfile.ZipFile(path) as archive:
        members = {i.filename: archive.read(i) for i in archive.infolist()}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            if name != "Basic/Standard/Module1.xml":
                archive.writestr(name, data)
    check_file(path)
