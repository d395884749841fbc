"""Reading .ods files: the cell types LibreOffice writes, taken from the file
(:mod:`engine.odf`), and the layout checks on them. The files are written here, XML by
XML, so these tests need no LibreOffice; ``test_roundtrip.py`` and ``test_layout.py`` check
the same against files a real LibreOffice saved."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from engine.odf import boolean_formula, read_ods_layout
from engine.validation.layout import layout_findings
from engine.validation.problems import SheetRoles
from engine.workbook import read_workbook

NAMESPACES = " ".join(
    f'xmlns:{prefix}="{uri}"'
    for prefix, uri in {
        "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
        "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
        "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
        "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
        "calcext": "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0",
    }.items()
)
QUOTE = {'"': "&quot;"}
MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
    '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry '
    'manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.'
    'spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" '
    'manifest:media-type="text/xml"/></manifest:manifest>'
)
HIDDEN_STYLE = (
    '<office:automatic-styles><style:style style:name="ta2" style:family="table">'
    '<style:table-properties table:display="false"/></style:style></office:automatic-styles>'
)


def ods(path: Path, tables: dict[str, str], styles: str = "") -> Path:
    """An .ods whose sheets hold the given ``table:table`` bodies (rows and columns)."""
    hide = ' table:style-name="ta2"'
    body = "".join(
        f'<table:table table:name="{name}"{hide if "hidden" in name else ""}>{rows}</table:table>'
        for name, rows in tables.items()
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {NAMESPACES}>'
        f"{styles}<office:body><office:spreadsheet>{body}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content)
        archive.writestr("META-INF/manifest.xml", MANIFEST)
    return path


def row(*cells: str, attributes: str = "") -> str:
    return f"<table:table-row{attributes}>{''.join(cells)}</table:table-row>"


def text(value: str, attributes: str = "") -> str:
    return (
        f'<table:table-cell office:value-type="string"{attributes}>'
        f"<text:p>{value}</text:p></table:table-cell>"
    )


def number(value: float, attributes: str = "") -> str:
    return (
        f'<table:table-cell office:value-type="float" office:value="{value}"{attributes}>'
        f"<text:p>{value}</text:p></table:table-cell>"
    )


def typed_boolean(value: bool) -> str:
    """A boolean typed into a Calc cell."""
    word = "true" if value else "false"
    return (
        f'<table:table-cell office:value-type="boolean" office:boolean-value="{word}">'
        f"<text:p>{word.upper()}</text:p></table:table-cell>"
    )


def formula(text_: str, value: float, shown: str, attributes: str = "") -> str:
    """A formula and its saved result, as LibreOffice writes a boolean read from .xlsx."""
    return (
        f'<table:table-cell table:formula="of:{escape(text_, QUOTE)}" office:value-type="float" '
        f'office:value="{value}"{attributes}><text:p>{shown}</text:p></table:table-cell>'
    )


def error(text_: str, shown: str) -> str:
    return (
        f'<table:table-cell table:formula="of:{text_}" office:value-type="float" '
        f'office:value="0" calcext:value-type="error"><text:p>{shown}</text:p>'
        "<office:annotation><text:p>a comment, not the error</text:p></office:annotation>"
        "</table:table-cell>"
    )


@pytest.mark.parametrize(
    ("written", "literal"),
    [
        ("of:=TRUE()", True),
        ("of:=FALSE()", False),
        ("=TRUE()", True),
        ("TRUE()", True),
        ("FALSE()", False),
        (" =true() ", True),
        ("of:=TRUE", None),  # not what LibreOffice writes
        ("of:=NOT(FALSE())", None),
        ("of:=1=1", None),
        ("of:=IF(TRUE();1;0)", None),
        ("SUM(A1:A2)", None),
    ],
)
def test_only_the_boolean_literal_formulas_are_booleans(written: str, literal: bool | None) -> None:
    assert boolean_formula(written) is literal


def test_booleans_come_from_the_file_not_from_the_number(tmp_path: Path) -> None:
    path = ods(
        tmp_path / "book.ods",
        {
            "Tests": row(typed_boolean(True), typed_boolean(False), number(1), number(0))
            + row(formula("=TRUE()", 1, "TRUE"), formula("=FALSE()", 0, "FALSE"), text("1"))
            + row(
                formula("=FALSE()", 0, "FALSE", ' table:number-columns-repeated="3"'),
                number(1),
                attributes=' table:number-rows-repeated="2"',
            )
            + row(formula("=1+1", 2, "2"), formula("=1=1", 1, "TRUE")),
        },
    )
    (sheet,) = read_workbook(path)
    assert sheet.rows == (
        (True, False, 1, 0),  # typed booleans; plain numbers stay numbers
        (True, False, "1"),  # LibreOffice's =TRUE()/=FALSE(); text stays text
        (False, False, False, 1),  # repeated cells and rows
        (False, False, False, 1),
        (2, 1),  # any other formula: its saved result, as before
    )
    assert all(type(v) is bool for v in sheet.rows[0][:2] + sheet.rows[1][:2])


def test_error_values_read_as_empty_and_are_reported(tmp_path: Path) -> None:
    path = ods(tmp_path / "book.ods", {"Tests": row(text("x"), error("=1/0", "#DIV/0!"))})
    sheets = read_workbook(path)
    assert sheets[0].rows == (("x",),)
    findings = layout_findings(path, sheets, SheetRoles.of(sheets))
    assert [(f.code, f.sheet, f.cells, f.message) for f in findings] == [
        (
            "TV125",
            "Tests",
            ("B1",),
            "the cell holds the formula '=1/0', whose result is the error #DIV/0!, which "
            "reads as an empty cell",
        )
    ]


def test_layout_of_an_ods_file(tmp_path: Path) -> None:
    columns = (
        '<table:table-column table:number-columns-repeated="2"/>'
        '<table:table-column table:visibility="collapse" table:number-columns-repeated="2"/>'
        "<table:table-column/>"
    )
    path = ods(
        tmp_path / "book.ods",
        {
            "Tests": columns
            + row(text("a"), text("b"), text("c"), text("d"), text("e"))
            + row(
                text("merged", ' table:number-columns-spanned="2"'),
                "<table:covered-table-cell/>",
                formula("=TRUE()", 1, "TRUE"),
                formula('=LEN("ab")', 2, "2"),
                attributes=' table:visibility="collapse"',
            ),
            "hidden sheet": row(text("read")),
        },
        HIDDEN_STYLE,
    )
    sheets = read_workbook(path)
    assert sheets[0].rows[1] == ("merged", None, True, 2)
    roles = SheetRoles.of(sheets)
    roles.roles["hidden sheet"] = "about"
    found = sorted((f.code, f.sheet, f.cells) for f in layout_findings(path, sheets, roles))
    assert found == [
        ("TV120", "Tests", ("A2", "B2")),
        ("TV121", "Tests", ("A2",)),  # the hidden row
        ("TV121", "Tests", ("C1",)),  # the hidden columns C and D
        ("TV121", "Tests", ("D1",)),
        ("TV121", "hidden sheet", ()),
        ("TV122", "Tests", ("D2",)),  # =LEN("ab") is a formula; =TRUE() in C2 is not
    ]
    layout = read_ods_layout(path)[0]
    assert (layout.hidden_rows, layout.hidden_columns) == ([(1, 1)], [(2, 2)])
