"""The ``How to edit`` sheet: plain words for the nurse or doctor who edits the workbook.

Written from the workbook's own content (its tables, its outputs, which table reads which),
so every example names a sheet and a column that exist, and rewritten by every
`triage format`. What it says about `triage validate` and releases follows
docs/workbook-format.md and README.md ("Drafts and releases"); keep them in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.hitpolicy import HitPolicy
from engine.model import Model, OutputDef, Table
from engine.tables import HEADER_ROWS


@dataclass(frozen=True)
class GuideLine:
    text: str
    heading: bool = False


def guide(model: Model) -> tuple[GuideLine, ...]:
    """The sheet's lines, top to bottom."""
    flag_table, flag_output, readers = _example_output(model)
    title = model.about.title or model.about.table_id
    sheets = ", ".join(f"'{t.sheet}'" for t in model.tables)
    lines = [
        GuideLine(f"How to edit this workbook ({title})", heading=True),
        GuideLine(
            "The engine reads the sheets About, Inputs, the decision tables "
            f"({sheets}), Tests and Safety. This sheet and the hidden Lists sheet are "
            "written by the command triage format from the others: do not edit them, "
            "they are rewritten every time. Formatting never changes what a cell holds."
        ),
        GuideLine("After every change", heading=True),
        GuideLine("1. Save the file and close it (Excel or LibreOffice)."),
        GuideLine(
            "2. Run: triage format <this file>. It rebuilds the drop-down lists, the notes on "
            "the column headings, the colours, the frozen headings, the column widths and "
            "this sheet, so that every drop-down offers the values you just added."
        ),
        GuideLine(
            "3. Run: triage validate <this file>. It lists every problem with its cell and "
            "what to write instead, for example \"Disposition!C12: 'everywhere' is not one "
            "of the allowed values — write one of ...\". It also runs every vignette on the "
            "Tests sheet, proves every property on the Safety sheet for every possible "
            "patient, and says which rules no vignette covers. It ends with OK (exit code "
            "0: no errors; warnings are allowed) or FAILED (exit code 1: errors, or a "
            "vignette that gave another answer). Exit code 2 means the file could not be "
            "read at all. Fix what it says and run both commands again."
        ),
        GuideLine("Add a rule", heading=True),
        GuideLine(
            f"On the table's sheet, add a row below the last rule (rules start in row "
            f"{HEADER_ROWS + 1}, one rule per row; the order of rows is the rule order). "
            "Column A: a rule id not used before in this table. Input columns: a test per "
            "cell. '-' means any value; pick a value from the drop-down, or write a test "
            "such as >= 5, [1..5], \"a\", \"b\" (either one), not(\"a\"), or null (the "
            "answer is missing). Output columns: the result, from the drop-down. Citation: "
            "the source of the rule (required). Note: optional. Then add a vignette that "
            "fires the new rule."
        ),
        GuideLine(
            f"Add a new value to an output (for example a new {_plain(flag_output.name)} code)",
            heading=True,
        ),
        GuideLine(
            f"1. On the sheet '{flag_table.sheet}', add the code to row 7 (Output values) of "
            f"the column {flag_output.name}, after a comma. "
            + _order_words(flag_table)
            + " " + _labels_words(flag_output)
        ),
        GuideLine(
            f"2. Add the rule row that gives the code on '{flag_table.sheet}' (see Add a "
            "rule), with its citation."
        ),
        GuideLine(_readers_step(flag_output, readers)),
        GuideLine(
            f"4. On Tests, add a vignette whose expected {flag_output.name} holds the new "
            "code (see Add a vignette)."
        ),
        GuideLine(
            "5. Run triage format, then triage validate: the drop-downs now offer the new "
            "code, and the vignette shows the rule works."
        ),
        GuideLine("Add an input", heading=True),
        GuideLine(
            "On Inputs, add a row: Name (lower-case letters, digits and _, such as "
            "heart_rate), Type (from the drop-down: boolean, number, integer, enum or text), "
            "Unit, Allowed values (for enum the values separated by commas, such as \"none, "
            "mild, severe\"; for a number a range such as [0..250]), Required (yes or no), "
            "Description, and optionally Label and Value labels (the words people read). To "
            "use it in a table, insert a column among its Input columns: row 5 Input, row 6 "
            "the name, and a test in each rule row ('-' where it does not matter). Add a "
            "column headed with the name on Tests to give vignettes a value."
        ),
        GuideLine("Add a vignette (a test case)", heading=True),
        GuideLine(
            "On Tests, add a row: a new Test id in column A, the patient's answers under the "
            "input names (values, not tests: 72, TRUE, focal; an empty cell means the answer "
            "is not given), and the answers you expect under the output names. An empty "
            "expected cell is not checked. For an output that holds a list, write the values "
            "separated by commas in the expected order, or [] for none."
        ),
        GuideLine("Add a safety property", heading=True),
        GuideLine(
            "On Safety, add a row: an id in column A (such as P40), a test in each column "
            "that matters, written like a rule's cell. Row 2 says whether a column is When "
            "(the kind of patient the property is about) or Then (what must then be true). "
            "Severity: error, or warning for a property that does not hold yet. Citation: "
            "required. triage validate proves it for every possible patient, or shows one "
            "patient who breaks it as a row you can paste into Tests."
        ),
        GuideLine("What \"released\" means", heading=True),
        GuideLine(
            "A workbook can be loaded, served and tried while it is being written: it is "
            "then a draft, and every answer the service gives from it says \"released\": "
            "false. It is released only when triage validate --release passes: no error and "
            "no warning, the About sheet's Owner, Clinical reviewer and Review date filled "
            "in (a named reviewer and a real date, not Pending), every Safety property "
            "proven and every rule covered by a vignette. Change the Version on About "
            "(major.minor.patch, such as 2.1.0) for every change that is released."
        ),
    ]
    return tuple(lines)


def _example_output(model: Model) -> tuple[Table, OutputDef, list[Table]]:
    """The output the example adds a value to: one that another table reads (a red flag),
    preferring a table of codes (COLLECT) to a priority list; and the tables reading it."""

    def readers(output: OutputDef) -> list[Table]:
        return [t for t in model.tables if any(c.name == output.name for c in t.inputs)]

    candidates = [(t, o) for t in model.tables for o in t.outputs]
    table, output = min(
        candidates,
        key=lambda pair: (not readers(pair[1]), not pair[0].returns_list,
                          not pair[1].allowed_values),
    )
    return table, output, readers(output)


def _readers_step(output: OutputDef, readers: list[Table]) -> str:
    if not readers:
        return "3. No other table reads this output, so nothing else needs a new row."
    named = " and ".join(f"{t.name} (sheet '{t.sheet}')" for t in readers)
    subject = "The table" if len(readers) == 1 else "The tables"
    verb = "reads" if len(readers) == 1 else "read"
    return (
        f"3. {subject} {named} {verb} {output.name}. Where the new code must change the "
        "answer (for a red flag: how urgently the patient is seen), add a row whose "
        f"{output.name} cell holds the new code in double quotes, and its result."
    )


def _labels_words(output: OutputDef) -> str:
    if output.labels:
        return (
            "Row 4 (Labels) gives each code the words people read: add the words for the new "
            "code at the same place in row 4, after a comma, so that both lists keep the "
            "same length."
        )
    return "Row 4 may give each code words people read (start it with Labels in A4)."


def _order_words(table: Table) -> str:
    if table.hit_policy in (HitPolicy.PRIORITY, HitPolicy.OUTPUT_ORDER):
        return "The order matters: the most urgent value comes first."
    return "For this table the order does not change any answer."


def _plain(name: str) -> str:
    return name.replace("_", " ").rstrip("s") if name.endswith("flags") else name.replace("_", " ")
