"""Checks a spreadsheet file before any reader opens it, so that a hostile or broken file is
refused in bounded time and memory with one clear problem, instead of exhausting the machine.

Why each check exists:

* **size of the file** — nothing larger than any real triage workbook is read at all;
* **password-protected workbooks** — an ``.xlsx`` with a password (Excel's or LibreOffice's)
  is an OLE compound file (``D0 CF 11 E0``) holding an ``EncryptedPackage`` stream, and an
  ``.ods`` one lists ``encryption-data`` in ``META-INF/manifest.xml``; readers fail on them
  with confusing messages ("damaged", "not well-formed"), and nothing in them can be read;
* **macros** — VBA (``vbaProject.bin`` in an ``.xlsm``, ``_VBA_PROJECT_CUR`` in an
  ``.xls``), Excel 4 macro sheets, LibreOffice Basic modules (``Basic/<library>/<module>``)
  and scripts (``Scripts/``). The engine never runs them, but Excel and LibreOffice may
  when a reviewer opens the file, and a macro can change cells on opening: what the
  reviewer sees would then not be what was validated and is served;
* **embedded objects** — OLE objects and ActiveX controls (``xl/embeddings/``,
  ``xl/activeX/``), documents embedded in an ``.ods`` (``Object 1/``, other than charts):
  the engine never reads them, a reviewer may take an embedded sheet for part of the
  table, and an OLE package can carry a program that runs on a double-click. Charts and
  pictures are allowed; they only show cells;
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
_VBA = "_VBA_PROJECT_CUR".encode("utf-16-le")
_CHART = "application/vnd.oasis.opendocument.chart"
_MANIFEST = "META-INF/manifest.xml"
_NO_PASSWORD = (
    "remove the password and save again (Excel: File > Info > Protect Workbook > Encrypt "
    "with Password, clear it; LibreOffice: File > Save As, untick 'Save with password')"
)
_NO_MACROS = (
    "save it without macros (Excel: File > Save As > Excel Workbook (.xlsx); LibreOffice: "
    "Tools > Macros > Organize Macros > Basic, delete the module, then save)"
)
_NO_OBJECTS = "delete the object (click it, press Delete) and save; put a link in a Note instead"
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
        data = path.read_bytes()
        if _ENCRYPTED in data:
            _refuse(path, "the workbook is password-protected", _NO_PASSWORD, "TV002")
        if _VBA in data:
            _refuse(path, _macros("a VBA project"), _NO_MACROS, "TV006")
        return
    if head.startswith(ZIP_MAGIC):
        _check_zip(path)


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            _check_members(path, members)
            names = [m.filename for m in members]
            _check_password(path, archive, names)  # encrypted parts cannot be scanned
            _check_macros(path, names)  # Basic modules declare a DTD: say what they are
            owners: dict[str, str] = {}  # embedded object -> sheet showing it (.ods)
            for member in members:
                if member.filename.endswith((".xml", ".rels", ".vml")):
                    _scan_member(path, archive, member, owners)
            _check_objects(path, archive, names, owners)
    except UnreadableFile:
        raise
    except Exception as exc:  # zipfile, zlib and expat report damage with many types
        _refuse(
            path,
            f"the workbook is damaged ({exc})",
            "open it in Excel or LibreOffice and save it again",
            "TV001",
        )


def _check_password(path: Path, archive: zipfile.ZipFile, names: list[str]) -> None:
    """An .ods saved with a password keeps its parts encrypted and says so in its manifest."""
    if _MANIFEST in names and any(
        b"encryption-data" in chunk for chunk in _chunks(archive, archive.getinfo(_MANIFEST))
    ):
        _refuse(path, "the workbook is password-protected", _NO_PASSWORD, "TV002")


def _check_macros(path: Path, names: list[str]) -> None:
    for name in names:
        lower = name.lower()
        folder, _, rest = name.partition("/")
        if lower.endswith("vbaproject.bin"):
            what = f"VBA project {name}"
        elif lower.startswith("xl/macrosheets/"):
            what = f"Excel 4 macro sheet {name}"
        elif folder == "Basic" and rest.count("/") == 1 and not rest.endswith(_BASIC_INDEX):
            library, module = rest.split("/")
            what = f"Basic module {library}.{module.removesuffix('.xml')}"
        elif folder == "Scripts" and rest and not name.endswith("/"):
            what = f"script {rest}"
        else:
            continue
        _refuse(path, _macros(what), _NO_MACROS, "TV006")


_BASIC_INDEX = ("script-lb.xml", "dialog-lb.xml", "script-lc.xml", "dialog-lc.xml")


def _macros(what: str) -> str:
    return (
        f"the workbook holds macros ({what}): Excel or LibreOffice may run them when a "
        "reviewer opens it, and a macro can show other cells than those checked"
    )


def _check_objects(
    path: Path, archive: zipfile.ZipFile, names: list[str], owners: dict[str, str]
) -> None:
    found = [n for n in names if n.startswith(("xl/embeddings/", "xl/activeX/"))]
    if found:
        part = found[0]
        sheet = _openxml_owner(archive, names, part)
    elif _MANIFEST in names:
        objects = _ods_objects(archive)
        if not objects:
            return
        part = objects[0]
        sheet = owners.get(part)
    else:
        return
    where = f"sheet '{sheet}' holds" if sheet else "the workbook holds"
    _refuse(
        path,
        f"{where} an embedded object ('{part.rstrip('/')}'): the engine never reads it, a "
        "reviewer may take it for part of the table, and opening it can run a program",
        _NO_OBJECTS,
        "TV007",
    )


def _ods_objects(archive: zipfile.ZipFile) -> list[str]:
    """The embedded objects an .ods manifest lists at the top level, charts excepted."""
    objects: list[str] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag.endswith("file-entry"):
            full = attrs.get(f"{_MANIFEST_NS} full-path", "")
            kind = attrs.get(f"{_MANIFEST_NS} media-type", "")
            top = full.rstrip("/")
            if full.startswith("Object") and "/" not in top and kind != _CHART:
                objects.append(top)

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = start
    _parse(archive, archive.getinfo(_MANIFEST), parser)
    return sorted(objects)


_MANIFEST_NS = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"


def _openxml_owner(archive: zipfile.ZipFile, names: list[str], part: str) -> str | None:
    """The name of the sheet whose relationships point at ``part``, if one does."""
    target = part.rsplit("/", 1)[-1]
    sheet_part = next(
        (
            "xl/worksheets/" + n.rsplit("/", 1)[-1].removesuffix(".rels")
            for n in names
            if n.startswith("xl/worksheets/_rels/")
            and f"/{target}\"".encode() in archive.read(n)
        ),
        None,
    )
    if sheet_part is None or "xl/workbook.xml" not in names:
        return None
    relations = _attributes(archive, "xl/_rels/workbook.xml.rels", "Relationship")
    ids = {r.get("Id"): r.get("Target", "").lstrip("/").removeprefix("xl/") for r in relations}
    for sheet in _attributes(archive, "xl/workbook.xml", "sheet"):
        relation = next((v for k, v in sheet.items() if k.endswith(" id")), None)
        if f"xl/{ids.get(relation, '')}" == sheet_part:
            return sheet.get("name")
    return None


def _attributes(archive: zipfile.ZipFile, part: str, element: str) -> list[dict[str, str]]:
    """The attributes of every ``element`` in a small part (already free of DTDs)."""
    found: list[dict[str, str]] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag.rsplit(" ", 1)[-1] == element:
            found.append(attrs)

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = start
    if part in archive.namelist():
        _parse(archive, archive.getinfo(part), parser)
    return found


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
            _refuse(path, "the workbook is encrypted", _NO_PASSWORD, "TV002")
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


def _scan_member(
    path: Path, archive: zipfile.ZipFile, member: zipfile.ZipInfo, owners: dict[str, str]
) -> None:
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
        rows, columns = _ods_extent(archive, member, owners)
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


def _ods_extent(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, owners: dict[str, str]
) -> tuple[int, int]:
    """Rows and columns of an OpenDocument spreadsheet that hold a value. LibreOffice writes
    empty rows repeated to the sheet's end (``number-rows-repeated``); only repeated rows
    and cells *with content* count. ``owners`` gets the sheet showing each embedded object."""
    state = {"row": 0, "col": 0, "rows": 0, "cols": 0, "repeat": 1, "content": 0}
    repeat_cells: list[int] = []
    sheet = [""]

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag in ("draw:object", "draw:object-ole"):
            href = attrs.get("xlink:href", "").removeprefix("./").rstrip("/")
            owners.setdefault(href, sheet[0])
        if tag == "table:table":
            state["row"] = 0
            sheet[0] = attrs.get("table:name", "")
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


def _refuse(path: Path, message: str, fix: str, code: str) -> NoReturn:
    raise UnreadableFile([Problem(None, message, fix, code)], str(path))
