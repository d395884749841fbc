"""The drop-downs (list data validations) of a workbook, cell by cell, from ``.xlsx`` and
``.ods`` alike, so that a test can say a re-saved workbook offers the same lists in the
same cells: ``{("Severity", "B9"): ("true", "false", "-"), ...}``.

A list written in the rule (``"a,b"`` in ``.xlsx``, ``"a";"b"`` in ``.ods``) gives its
items; a list taken from cells gives the range as written, without ``$`` and the ``.ods``
dots (``Lists!A1:A5``).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from openpyxl import load_workbook
from openpyxl.utils.cell import range_boundaries

from engine.workbook import cell_name

DropDowns = dict[tuple[str, str], tuple[str, ...]]
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"


def dropdowns(path: Path) -> DropDowns:
    return _ods(path) if path.suffix.lower() == ".ods" else _xlsx(path)


def _items(text: str, separator: str) -> tuple[str, ...]:
    text = text.strip()
    if text.startswith('"') and separator == ",":
        return tuple(item.strip() for item in text.strip('"').split(","))
    quoted = re.findall(r'"((?:[^"]|"")*)"', text)
    if quoted:
        return tuple(item.replace('""', '"').strip() for item in quoted)
    reference = re.sub(r"[$\[\]']", "", text).replace(":.", ":")
    if separator == ";":  # .ods writes Lists.B2:B19 for Lists!B2:B19
        reference = re.sub(r"^(.*)\.([A-Z]+[0-9]+)", r"\1!\2", reference)
    return (reference,)


def _xlsx(path: Path) -> DropDowns:
    book = load_workbook(path)
    found: DropDowns = {}
    for sheet in book.worksheets:
        for check in sheet.data_validations.dataValidation:
            if check.type != "list" or not check.formula1:
                continue
            items = _items(check.formula1, ",")
            for area in str(check.sqref).split():
                first_col, first_row, last_col, last_row = range_boundaries(area)
                for row in range(first_row, last_row + 1):
                    for col in range(first_col, last_col + 1):
                        found[(sheet.title, cell_name(row - 1, col - 1))] = items
    book.close()
    return found


def _ods(path: Path) -> DropDowns:
    with zipfile.ZipFile(path) as archive:
        root = ElementTree.fromstring(archive.read("content.xml"))
    lists = {}
    for check in root.iter(f"{TABLE}content-validation"):
        condition = check.get(f"{TABLE}condition", "")
        match = re.search(r"cell-content-is-in-list\((.*)\)\s*$", condition)
        if match:
            lists[check.get(f"{TABLE}name")] = _items(match.group(1), ";")
    found: DropDowns = {}
    for table in root.iter(f"{TABLE}table"):
        name = table.get(f"{TABLE}name", "")
        row = 0
        for row_element in table.iter(f"{TABLE}table-row"):
            repeat = int(row_element.get(f"{TABLE}number-rows-repeated", "1"))
            col = 0
            for cell in row_element:
                if cell.tag not in (f"{TABLE}table-cell", f"{TABLE}covered-table-cell"):
                    continue
                count = int(cell.get(f"{TABLE}number-columns-repeated", "1"))
                items = lists.get(cell.get(f"{TABLE}content-validation-name"))
                if items is not None:
                    for r in range(row, row + min(repeat, 1_000)):
                        for c in range(col, col + min(count, 1_000)):
                            found[(name, cell_name(r, c))] = items
                col += count
            row += repeat
    return found
