"""Checks a spreadsheet file before any reader opens it, so that a hostile or broken file is
refused in bounded time and memory with one clear problem, instead of exhausting the machine.

Why each check exists:

* **size of the file** — nothing larger than any real triage workbook is read at all;
* **password-protected workbooks** are OLE compound files (``D0 CF 11 E0``) holding an
  ``EncryptedPackage`` stream; readers fail on them with confusing messages;
* **zip bombs** — an .xlsx/.ods is a zip archive; the members' declared sizes, their
  compression ratio and their number are checked before anything is inflated, and each
  member is then inflated by Python's zipfile, which stops at the declared size and checks
  the CRC;
* **XML entity expansion** ("billion laughs", external entities) — no spreadsheet part ever
  needs a DTD, so any ``<!DOCTYPE`` or ``<!ENTITY`` is refused before an XML parser sees it;
* **huge sheets** — the readers build a dense rectangle from the first to the last cell, so
  one cell at ``XFD1048576`` would ask for 17 billion cells; every cell reference is scanned
  (not the ``<dimension>`` element, which a file can get wrong) and sheets beyond the limits
  are refused.

The limits are far above what the engine accepts anyway (250,000 rules per table, 200 input
columns). Legacy ``.xls`` files (OLE, not encrypted) are left to the reader: their format
caps a sheet at 65,536 rows and 256 columns.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn
from xml.parsers import expat

from engine.errors import Problem, UnreadableFile

MAX_FILE_BYTES = 100 * 2**20
MAX_UNPACKED_BYTES = 256 * 2**20
MAX_MEMBERS = 2_000
MAX_RATIO = 100  # Apache POI's default minimum inflate ratio is 0.01
RATIO_GRACE_BYTES = 2**20  # small members compress well and are harmless
MAX_ROWS = 300_000
MAX_COLUMNS = 1_024
MAX_CELLS = 20_000_000  # rows x columns of one sheet's rectangle

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_CHUNK = 2**20
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)")
_REF = re.compile(rb'\sr="([A-Z]{0,3})([0-9]{1,7})"')  # r="12" on a row, r="B12" on a cell
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:c|row)[\s>/]")


def check_file(path: Path) -> None:
    """Raise :class:`UnreadableFile` with one problem if ``path`` must not be read."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        _refuse(
            path,
            f"the file is too large ({_mb(size)})",
            f"keep it under {_mb(MAX_FILE_BYTES)}",
            "TV003",
        )
    with path.open("rb") as handle:
        head = handle.read(8)
    if head == OLE_MAGIC:
        if _ENCRYPTED in path.read_bytes():
            _refuse(
                path,
                "the workbook is password-protected",
                "remove the password (File > Info > Protect Workbook) and save it again",
                "TV002",
            )
        return
    if head.startswith(ZIP_MAGIC):
        _check_zip(path)


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            _check_members(path, members)
            for member in members:
                if member.filename.endswith((".xml", ".rels", ".vml")):
                    _scan_member(path, archive, member)
    except UnreadableFile:
        raise
    except Exception as exc:  # zipfile, zlib and expat report damage with many types
        _refuse(path, f"the workbook is damaged ({exc})", "open it in Excel and save it again")


def _check_members(path: Path, members: list[zipfile.ZipInfo]) -> None:
    if len(members) > MAX_MEMBERS:
        _refuse(
            path,
            f"the file holds {len(members):,} parts, more than any workbook needs",
            "save the workbook again from Excel",
            "TV003",
        )
    total = sum(m.file_size for m in members)
    if total > MAX_UNPACKED_BYTES:
        _refuse(
            path,
            f"the workbook would unpack to {_mb(total)} (at most {_mb(MAX_UNPACKED_BYTES)})",
            "split it into smaller workbooks",
            "TV003",
        )
    for member in members:
        if member.flag_bits & 0x1:
            _refuse(path, "the workbook is encrypted", "save it again without a password", "TV002")
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_GRACE_BYTES and ratio > MAX_RATIO:
            _refuse(
                path,
                f"part '{member.filename}' is compressed {ratio:,.0f} to 1, which only a "
                "zip bomb does",
                "save the workbook again from Excel",
                "TV003",
            )


def _chunks(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> Iterator[bytes]:
    """The member's bytes in pieces that overlap by 256 bytes, so that no pattern is split."""
    tail = b""
    with archive.open(member) as stream:
        while block := stream.read(_CHUNK):
            yield tail + block
            tail = block[-256:]


def _scan_member(path: Path, archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    name = member.filename
    sheet = name.startswith("xl/worksheets/") or name == "content.xml"
    rows = columns = tags = refs = 0
    for chunk in _chunks(archive, member):
        if _DTD.search(chunk):
            _refuse(
                path,
                f"part '{name}' declares XML entities, which spreadsheets never need",
                "save the workbook again from Excel",
                "TV004",
            )
        if sheet and name != "content.xml":
            found = _REF.findall(chunk)
            refs += len(found)
            tags += len(_TAG.findall(chunk))
            if found:
                rows = max(rows, max(int(r) for r in {r for _, r in found}))
                columns = max(columns, max(_column_number(c) for c in {c for c, _ in found}))
    if not sheet:
        return
    if name == "content.xml":
        rows, columns = _ods_extent(archive, member)
    elif tags > refs:  # some rows or cells carry no reference: count them in place
        rows, columns = _xlsx_extent(archive, member)
    _check_extent(path, name, rows, columns)


def _check_extent(path: Path, part: str, rows: int, columns: int) -> None:
    if rows > MAX_ROWS or columns > MAX_COLUMNS or rows * columns > MAX_CELLS:
        _refuse(
            path,
            f"a sheet ({part}) reaches row {rows:,} and column {columns:,}; at most "
            f"{MAX_ROWS:,} rows and {MAX_COLUMNS:,} columns are read",
            "delete the unused rows and columns (select them, right-click, Delete) and save",
            "TV005",
        )


def _column_number(letters: bytes) -> int:
    number = 0
    for byte in letters:
        number = number * 26 + byte - 64
    return number


def _parse(archive: zipfile.ZipFile, member: zipfile.ZipInfo, parser: expat.XMLParserType) -> None:
    """Feed a member to expat. It holds no DTD (checked above); as defusedxml does, a DTD or
    an entity declaration would stop the parse anyway, so nothing can be expanded."""

    def forbidden(*_: object) -> None:
        raise ValueError("the XML declares a DTD or entities")

    parser.StartDoctypeDeclHandler = forbidden
    parser.EntityDeclHandler = forbidden
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    with archive.open(member) as stream:
        while block := stream.read(_CHUNK):
            parser.Parse(block, False)
        parser.Parse(b"", True)


def _xlsx_extent(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> tuple[int, int]:
    """Rows and columns of a sheet whose cells may omit their ``r`` reference."""
    state = {"row": 0, "col": 0, "rows": 0, "cols": 0}

    def start(tag: str, attrs: dict[str, str]) -> None:
        local = tag.rsplit(":", 1)[-1]
        if local == "row":
            ref = attrs.get("r", "")
            state["row"] = int(ref) if ref.isdigit() else state["row"] + 1
            state["col"] = 0
            state["rows"] = max(state["rows"], state["row"])
        elif local == "c":
            match = re.fullmatch(r"([A-Z]{1,3})([0-9]{1,7})", attrs.get("r", ""))
            state["col"] = _column_number(match.group(1).encode()) if match else state["col"] + 1
            state["cols"] = max(state["cols"], state["col"])

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    _parse(archive, member, parser)
    return state["rows"], state["cols"]


def _ods_extent(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> tuple[int, int]:
    """Rows and columns of an OpenDocument spreadsheet that hold a value. LibreOffice writes
    empty rows repeated to the sheet's end (``number-rows-repeated``); only repeated rows
    and cells *with content* count."""
    state = {"row": 0, "col": 0, "rows": 0, "cols": 0, "repeat": 1, "content": 0}
    repeat_cells: list[int] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag == "table:table":
            state["row"] = 0
        elif tag == "table:table-row":
            state["repeat"] = int(attrs.get("table:number-rows-repeated", "1") or 1)
            state["col"], state["content"] = 0, 0
        elif tag in ("table:table-cell", "table:covered-table-cell"):
            repeat_cells.append(int(attrs.get("table:number-columns-repeated", "1") or 1))
            if "office:value-type" in attrs or "table:formula" in attrs:
                state["content"] += 1
                state["cols"] = max(state["cols"], state["col"] + repeat_cells[-1])
        elif tag == "text:p" and repeat_cells:
            state["content"] += 1
            state["cols"] = max(state["cols"], state["col"] + repeat_cells[-1])

    def end(tag: str) -> None:
        if tag in ("table:table-cell", "table:covered-table-cell") and repeat_cells:
            state["col"] += repeat_cells.pop()
        elif tag == "table:table-row":
            state["row"] += state["repeat"]
            if state["content"]:
                state["rows"] = max(state["rows"], state["row"])

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    _parse(archive, member, parser)
    return state["rows"], state["cols"]


def _mb(size: int) -> str:
    return f"{size / 2**20:,.0f} MB"


def _refuse(path: Path, message: str, fix: str, code: str = "TV001") -> NoReturn:
    raise UnreadableFile([Problem(None, message, fix, code)], str(path))
