"""Loading real .xlsx files: what the reader keeps (positions, types, empty rows, vignettes),
what ``engine.load`` says about files that are not workbooks, and a corpus of broken
workbooks — one per problem the builder, the table reader and the compiler can report —
each expected at its sheet and cell.

Every workbook here is written by :func:`tests.xlsx.write_workbook` and read back through
``engine.load``, the same path a clinician's file takes.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest

import engine
from engine import Problem, UnreadableFile, WorkbookError
from engine.conditions import AnyOf, AnyValue, Equals
from engine.model import Kind, Model
from engine.workbook import Sheet
from tests.xlsx import append_rows, get_sheet, remove_sheet, replace_sheet, set_cell, set_cells
from tests.xlsx import sheet as make_sheet

Sheets = tuple[Sheet, ...]
WriteBook = Callable[..., Path]

INPUTS_HEADER = ["Name", "Type", "Unit", "Allowed values", "Required", "Description"]
ABOUT = make_sheet("About", [["Table id", "t"], ["Version", "1.0.0"]])


def decision_table(
    name: str,
    policy: str,
    inputs: Sequence[str],
    outputs: Sequence[str],
    rules: Sequence[Sequence[object]],
    values: Sequence[object] = (),
    defaults: Sequence[object] = (),
    sheet_name: str | None = None,
) -> Sheet:
    """A table sheet; ``rules`` are rows of input then output cells (ids R1.. and a citation
    are added)."""
    n_in, n_out = len(inputs), len(outputs)
    rows: list[list[object]] = [
        ["Table", name],
        ["Hit policy", policy],
        ["Description"],
        [],
        ["Kind", *["Input"] * n_in, *["Output"] * n_out, "Citation"],
        ["Name", *inputs, *outputs],
        ["Output values", *[None] * n_in, *(list(values) or [None] * n_out)],
        ["Default", *[None] * n_in, *(list(defaults) or [None] * n_out)],
    ]
    rows += [[f"R{i + 1}", *rule, "test source"] for i, rule in enumerate(rules)]
    return make_sheet(sheet_name or name.capitalize(), rows)  # type: ignore[arg-type]


def inputs_sheet(*rows: Sequence[object]) -> Sheet:
    """``rows``: (name, type, allowed values, required)."""
    return make_sheet("Inputs", [INPUTS_HEADER, *[[n, t, None, a, r, None] for n, t, a, r in rows]])


def load_problems(tmp_workbook: WriteBook, sheets: Sequence[Sheet]) -> tuple[Problem, ...]:
    """Write ``sheets`` to .xlsx, load it, and return the problems of the WorkbookError it
    must raise (any other exception fails the test)."""
    path = tmp_workbook(sheets)
    with pytest.raises(WorkbookError) as caught:
        engine.load(path)
    assert caught.value.source == str(path)
    return caught.value.problems


def where(problem: Problem) -> tuple[str | None, str | None]:
    if problem.location is None:
        return (None, None)
    return (problem.location.sheet, problem.location.cell)


def listing(problems: Sequence[Problem]) -> str:
    return "\n".join(str(p) for p in problems)


# --- the helper itself ----------------------------------------------------------------------


def test_write_workbook_keeps_values_and_positions(tmp_workbook: WriteBook) -> None:
    from engine.workbook import read_workbook

    rows = [["text", 5, 5.5, True, False], [], [None, "=1+1", "  padded  ", -2, 1e-7]]
    path = tmp_workbook([make_sheet("First", rows), make_sheet("Second", [["x"]])])
    first, second = read_workbook(path)
    assert first.name == "First" and second.name == "Second"
    assert first.rows == (("text", 5, 5.5, True, False), (), (None, "=1+1", "  padded  ", -2,
                                                              1e-7))
    assert first.rows[0][3] is True and type(first.rows[0][1]) is int
    assert second.rows == (("x",),)


# --- a valid workbook round-trips -----------------------------------------------------------


def test_minimal_workbook_loads_and_its_vignettes_pass(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    model = engine.load(tmp_workbook(minimal_sheets))
    assert model.about.table_id == "mini_triage"
    assert model.about.version == "1.0.0"
    assert model.about.review_date == "2024-01-15"
    assert [i.name for i in model.inputs] == [
        "age_years", "temperature_c", "red_flag", "pattern", "duration_weeks", "comment"
    ]
    assert [t.name for t in model.tables] == ["severity", "disposition"]  # dependency order
    assert [v.vignette_id for v in model.vignettes] == ["T1", "T2", "T3"]
    for vignette in model.vignettes:
        decision = model.evaluate(dict(vignette.facts))
        for name, expected in vignette.expected.items():
            assert decision.outputs[name] == expected, vignette.vignette_id


def test_tables_are_ordered_by_dependency_not_by_sheet(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    swapped = (*minimal_sheets[:2], minimal_sheets[3], minimal_sheets[2], minimal_sheets[4])
    model = engine.load(tmp_workbook(swapped))
    assert [t.name for t in model.tables] == ["severity", "disposition"]


def test_sheet_names_match_without_case_or_spaces(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    renamed = tuple(Sheet(f" {s.name.upper()} ", s.rows) for s in minimal_sheets)
    model = engine.load(tmp_workbook(renamed))
    assert len(model.vignettes) == 3


# --- positions ------------------------------------------------------------------------------


def test_a_problem_in_c12_is_reported_at_c12(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    sheets = set_cell(minimal_sheets, "Severity", "C12", '"focal", "everywhere"')
    (problem,) = load_problems(tmp_workbook, sheets)
    assert where(problem) == ("Severity", "C12")
    assert str(problem) == (
        "Severity!C12: 'everywhere' is not one of the allowed values — "
        'write one of "focal", "multifocal", "widespread"'
    )


def test_a_sheet_name_with_spaces_is_quoted(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    severity = get_sheet(minimal_sheets, "Severity")
    sheets = replace_sheet(remove_sheet(minimal_sheets, "Severity"), Sheet("Red flags",
                                                                           severity.rows))
    sheets = set_cell(sheets, "Red flags", "D11", ">= 5 and")
    (problem,) = load_problems(tmp_workbook, sheets)
    assert where(problem) == ("Red flags", "D11")
    assert str(problem).startswith("'Red flags'!D11: unexpected 'and' in '>= 5 and'")


def test_leading_empty_rows_and_columns_keep_positions(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    """A reader that dropped leading empty rows would report B2 here."""
    about = make_sheet("About", [[], [], [None, None], ["Table id", "mini_triage"],
                                 ["Version", "1.0"]])
    (problem,) = load_problems(tmp_workbook, replace_sheet(minimal_sheets, about))
    assert where(problem) == ("About", "B5")
    assert problem.message == "'1.0' is not a semantic version"


def test_problems_after_empty_rows_keep_their_row(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    severity = get_sheet(minimal_sheets, "Severity")
    rows = [*severity.rows[:10], (), (), *severity.rows[10:]]  # two empty rows after S2
    sheets = replace_sheet(minimal_sheets, Sheet("Severity", tuple(rows)))
    sheets = set_cell(sheets, "Severity", "D13", "[64..18]")  # S3, now on row 13
    (problem,) = load_problems(tmp_workbook, sheets)
    assert where(problem) == ("Severity", "D13")
    assert problem.message == "the range '[64..18]' contains no value"


def test_far_columns_are_named_with_two_letters(tmp_workbook: WriteBook) -> None:
    names = [f"x{i}" for i in range(30)]
    inputs = inputs_sheet(*[(n, "integer", None, "no") for n in names])
    rules = [[*["-"] * 29, "> a", "out"]]
    table = decision_table("wide", "FIRST", names, ["result"], rules)
    (problem,) = load_problems(tmp_workbook, [ABOUT, inputs, table])
    assert where(problem) == ("Wide", "AE9")  # the 30th input column is AE


# --- values keep their type -----------------------------------------------------------------


def test_booleans_stay_booleans(minimal_sheets: Sheets, tmp_workbook: WriteBook) -> None:
    model = engine.load(tmp_workbook(minimal_sheets))
    severity = model.table("severity")
    assert severity is not None
    cell = severity.rules[0].cells[0]  # S1, red_flag: an Excel TRUE
    assert cell.condition == AnyOf((Equals(True),))
    assert cell.condition.items[0].value is True  # type: ignore[union-attr]
    assert model.vignettes[0].facts["red_flag"] is True
    assert model.vignettes[1].facts["red_flag"] is False


def test_boolean_output_values_written_as_excel_booleans(tmp_workbook: WriteBook) -> None:
    inputs = inputs_sheet(("x", "integer", None, "yes"))
    table = decision_table("t", "FIRST", ["x"], ["flag"], [[">= 1", True], ["-", False]],
                           values=["true, false"], defaults=[False])
    model = engine.load(tmp_workbook([ABOUT, inputs, table]))
    out = model.output("flag")
    assert out is not None
    assert out.kind is Kind.BOOLEAN
    assert out.allowed_values == (True, False)
    assert out.default is False
    assert model.evaluate({"x": 3}).outputs["t"] is True
    assert model.evaluate({"x": 0}).outputs["t"] is False


def test_numbers_and_text(minimal_sheets: Sheets, tmp_workbook: WriteBook) -> None:
    sheets = set_cells(minimal_sheets, "Tests", {"D2": "40", "D3": 70.0, "E3": "37.5"})
    sheets = set_cells(sheets, "Severity", {"E11": 38.5, "D10": 65.0})
    model = engine.load(tmp_workbook(sheets))
    t1, t2, _ = model.vignettes
    assert t1.facts["age_years"] == 40 and type(t1.facts["age_years"]) is int  # text "40"
    assert type(t2.facts["age_years"]) is int  # Excel's 70.0 is the whole number 70
    assert t2.facts["temperature_c"] == 37.5
    severity = model.table("severity")
    assert severity is not None
    assert severity.rules[2].cells[3].condition == AnyOf((Equals(38.5),))
    d10 = severity.rules[1].cells[2].condition
    assert d10 == AnyOf((Equals(65),)) and type(d10.items[0].value) is int  # type: ignore
    # an integer written as a number and a number written as text read alike
    assert t1.facts == {"red_flag": True, "pattern": "focal", "age_years": 40,
                        "duration_weeks": 2}


def test_text_that_looks_like_a_number_is_a_number_in_a_rule(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    sheets = set_cell(minimal_sheets, "Severity", "D10", "65")  # text, not an Excel number
    model = engine.load(tmp_workbook(sheets))
    severity = model.table("severity")
    assert severity is not None
    assert severity.rules[1].cells[2].condition == AnyOf((Equals(65),))


def test_number_in_an_enum_rule_cell_is_not_text(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    (problem,) = load_problems(tmp_workbook, set_cell(minimal_sheets, "Severity", "C11", 5))
    assert str(problem) == (
        "Severity!C11: '5' is not text — write one of \"focal\", \"multifocal\", \"widespread\""
    )


def test_dates_in_about_are_read_as_iso_dates(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    sheets = set_cell(minimal_sheets, "About", "B7", dt.date(2024, 3, 1))
    model = engine.load(tmp_workbook(sheets))
    assert model.about.review_date == "2024-03-01"


# --- empty rows -----------------------------------------------------------------------------


def test_empty_rows_are_skipped_everywhere(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    def spaced(s: Sheet, first_data_row: int) -> Sheet:
        rows = list(s.rows[:first_data_row])
        for row in s.rows[first_data_row:]:
            rows += [row, ()]
        return Sheet(s.name, tuple(rows))

    about, inputs, severity, disposition, tests = minimal_sheets
    sheets = (spaced(about, 1), spaced(inputs, 1), spaced(severity, 8), spaced(disposition, 8),
              spaced(tests, 1))
    model = engine.load(tmp_workbook(sheets))
    assert len(model.inputs) == 6
    table = model.table("severity")
    assert table is not None
    assert [r.rule_id for r in table.rules] == ["S1", "S2", "S3", "S4"]
    assert [r.row for r in table.rules] == [9, 11, 13, 15]  # the sheet rows, not a count
    assert [r.index for r in table.rules] == [0, 1, 2, 3]
    assert [v.vignette_id for v in model.vignettes] == ["T1", "T2", "T3"]
    assert [v.row for v in model.vignettes] == [2, 4, 6]


def test_cells_holding_only_spaces_are_empty(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    sheets = set_cells(minimal_sheets, "Severity", {"E9": "   ", "A13": "  ", "B13": " "})
    model = engine.load(tmp_workbook(sheets))
    severity = model.table("severity")
    assert severity is not None
    assert len(severity.rules) == 4
    assert severity.rules[0].cells[3].condition == AnyValue()


# --- the Tests sheet ------------------------------------------------------------------------


def test_tests_sheet_is_read_into_vignettes(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    model = engine.load(tmp_workbook(minimal_sheets))
    t1, t2, t3 = model.vignettes
    assert t1.vignette_id == "T1" and t1.row == 2 and t1.note == "red flag"
    assert str(t1.location) == "Tests!A2"
    assert dict(t1.facts) == {"red_flag": True, "pattern": "focal", "age_years": 40,
                              "duration_weeks": 2}  # empty temperature: not supplied
    assert dict(t1.expected) == {"severity": "high", "disposition": "EMERGENCY"}
    assert t2.facts["temperature_c"] == 37.5
    assert dict(t3.expected) == {"severity": "low", "disposition": "SELF_CARE"}


def test_tests_sheet_expected_null_empty_and_lists(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    sheets = set_cell(minimal_sheets, "Severity", "B2", "COLLECT")  # severity is now a list
    sheets = set_cells(sheets, "Tests", {"G2": "high, low", "G3": "[]", "G4": '"low"',
                                         "H4": None, "A4": None})
    model = engine.load(tmp_workbook(sheets))
    t1, t2, t3 = model.vignettes
    assert t1.expected == {"severity": ["high", "low"], "disposition": "EMERGENCY"}
    assert t2.expected == {"severity": [], "disposition": "GP"}
    assert t3.expected == {"severity": ["low"]}  # an empty expected cell is not checked
    assert t3.vignette_id == "row4"  # no id: named after its row


def test_tests_sheet_expected_null_in_memory(minimal_sheets: Sheets) -> None:
    """'null' in an expected cell checks that the output is missing (see the xfail below for
    the same through an .xlsx file)."""
    model = engine.load_sheets(set_cell(minimal_sheets, "Tests", "H3", "null"))
    assert model.vignettes[1].expected == {"severity": "medium", "disposition": None}


def test_tests_sheet_is_optional(minimal_sheets: Sheets, tmp_workbook: WriteBook) -> None:
    model = engine.load(tmp_workbook(remove_sheet(minimal_sheets, "Tests")))
    assert model.vignettes == ()


def test_count_expected_values_are_whole_numbers(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    sheets = set_cells(minimal_sheets, "Disposition", {"B2": "C#", "C7": None})
    sheets = set_cells(sheets, "Tests", {"H2": 1, "H3": "1", "H4": "one"})
    (problem,) = load_problems(tmp_workbook, sheets)
    assert str(problem) == "Tests!H4: 'one' is not a number — write a number such as 38.5"


# --- files that are not workbooks -----------------------------------------------------------


def _load_error(path: Path) -> WorkbookError:
    with pytest.raises(WorkbookError) as caught:
        engine.load(path)
    return caught.value


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.xlsx"
    error = _load_error(path)
    assert isinstance(error, UnreadableFile)
    (problem,) = error.problems
    assert (problem.location, problem.message, problem.fix) == (None, "file not found",
                                                                "check the path")
    assert str(error) == f"{path}: file not found — check the path"


def test_a_directory_is_not_a_file(tmp_path: Path) -> None:
    error = _load_error(tmp_path)
    assert isinstance(error, UnreadableFile)
    assert error.problems[0].message == "file not found"


@pytest.mark.parametrize("content", [b"Name,Type\nage,integer\n", b"", b"\x00\x01garbage"],
                         ids=["text", "empty file", "binary"])
def test_a_file_renamed_xlsx(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "renamed.xlsx"
    path.write_bytes(content)
    error = _load_error(path)
    assert isinstance(error, UnreadableFile)
    (problem,) = error.problems
    assert problem.location is None
    assert problem.message == "this is not an Excel workbook"
    assert problem.fix == "save the file as .xlsx from Excel"
    assert str(error) == (f"{path}: this is not an Excel workbook — "
                          "save the file as .xlsx from Excel")


def test_a_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a spreadsheet")
    error = _load_error(path)
    assert isinstance(error, UnreadableFile)
    (problem,) = error.problems
    assert problem.message.startswith("the workbook cannot be read (")
    assert problem.fix == "open and re-save it in Excel"


@pytest.mark.parametrize("suffix", [".csv", ".ods", ".xls", ""])
def test_other_files_cannot_be_read(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"data{suffix}"
    path.write_text("a,b\n1,2\n")
    error = _load_error(path)
    assert isinstance(error, UnreadableFile)
    assert error.problems[0].message.startswith("the workbook cannot be read")


def test_an_empty_workbook(tmp_workbook: WriteBook) -> None:
    error = _load_error(tmp_workbook([]))  # one blank sheet
    assert not isinstance(error, UnreadableFile)
    assert [(p.location, p.message) for p in error.problems] == [
        (None, "the workbook has no 'About' sheet"),
        (None, "the workbook has no 'Inputs' sheet"),
        (None, "the workbook has no decision table"),
    ]


def test_a_workbook_without_inputs_and_about(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    sheets = remove_sheet(remove_sheet(minimal_sheets, "Inputs"), "About")
    problems = load_problems(tmp_workbook, sheets)
    assert (None, None) == where(problems[0]) == where(problems[1])
    assert str(problems[0]) == ("the workbook has no 'About' sheet — "
                                "add a sheet named About with Table id and Version")
    assert str(problems[1]) == ("the workbook has no 'Inputs' sheet — "
                                "add a sheet named Inputs listing every fact")
    # every column that reads a fact is then unknown, and said so at its name cell
    unknown = [where(p) for p in problems if "is not an input or an output of another" in
               p.message]
    assert unknown == [("Severity", "B6"), ("Severity", "C6"), ("Severity", "D6"),
                       ("Severity", "E6")]


# --- the corpus of broken workbooks ---------------------------------------------------------

Mutation = Callable[[Sheets], Sheets]


@dataclass(frozen=True)
class Broken:
    """A mutation of the minimal workbook and the problem it must produce."""

    id: str
    mutate: Mutation
    sheet: str | None
    cell: str | None
    message: str  # a substring of the message
    fix: str = ""  # a substring of the fix


def cells(sheet: str, values: dict[str, object]) -> Mutation:
    return lambda s: set_cells(s, sheet, values)  # type: ignore[arg-type]


def without(*names: str) -> Mutation:
    def mutate(s: Sheets) -> Sheets:
        for name in names:
            s = remove_sheet(s, name)
        return s

    return mutate


def then(*mutations: Mutation) -> Mutation:
    def mutate(s: Sheets) -> Sheets:
        for m in mutations:
            s = m(s)
        return s

    return mutate


def _too_many_alternatives(s: Sheets) -> Sheets:
    ages = ", ".join(f"({2 * i}..{2 * i + 1})" for i in range(17))  # 17 disjoint open ranges
    temps = ", ".join(f"({30 + i}..{30 + i}.5)" for i in range(16))  # 16 more: 272 paths
    rule = ["S5", "-", "-", ages, temps, "high", "Example guideline 1.5"]
    return append_rows(s, "Severity", rule)


def _wide_table(s: Sheets) -> Sheets:
    names = [f"x{i}" for i in range(201)]
    inputs = inputs_sheet(*[(n, "integer", None, "no") for n in names])
    table = decision_table("wide", "FIRST", names, ["wide_result"], [[*["-"] * 201, "a"]])
    return (*without("Inputs", "Severity", "Disposition", "Tests")(s), inputs, table)


def _many_message_properties(s: Sheets) -> Sheets:
    values = ", ".join(f"v{i}" for i in range(250))
    tags = decision_table("tags", "COLLECT", ["age_years"], ["tag"], [[">= 1", "v1"]],
                          values=[values])
    use = decision_table("use_tags", "FIRST", ["tag"], ["tagged"], [['"v1"', "yes"]])
    return (*s, tags, use)


def _cycle(s: Sheets) -> Sheets:
    # severity's temperature column now reads disposition, which reads severity
    return set_cells(s, "Severity", {"E6": "disposition", "E11": '"GP"'})


CORPUS: list[Broken] = [
    # -- Inputs sheet
    Broken("input name not snake_case", cells("Inputs", {"A7": "Comment Text"}),
           "Inputs", "A7", "'Comment Text' is not a valid input name",
           "for example 'comment_text'"),
    Broken("input name starting with a digit", cells("Inputs", {"A7": "2nd_comment"}),
           "Inputs", "A7", "'2nd_comment' is not a valid input name", "'x_2nd_comment'"),
    Broken("unknown type", cells("Inputs", {"B7": "string"}),
           "Inputs", "B7", "unknown type 'string'", "write boolean, number, integer, enum or text"),
    Broken("duplicate input", lambda s: append_rows(s, "Inputs", ["age_years", "number", None,
                                                                  None, "no", None]),
           "Inputs", "A8", "input 'age_years' is declared twice (also at Inputs!A2)"),
    Broken("enum without values", cells("Inputs", {"D5": None}),
           "Inputs", "D5", "an enum needs its allowed values"),
    Broken("enum value listed twice", cells("Inputs", {"D5": "focal, multifocal, widespread, "
                                                              "focal"}),
           "Inputs", "D5", "a value is listed twice"),
    Broken("range that does not parse", cells("Inputs", {"D2": "[0..120"}),
           "Inputs", "D2", "'[0..120' ends too early", "write a range such as [16..120]"),
    Broken("range that is not numeric", cells("Inputs", {"D2": "adult"}),
           "Inputs", "D2", "'adult' is not a numeric range"),
    Broken("allowed values on a boolean", cells("Inputs", {"D4": "yes, no"}),
           "Inputs", "D4", "a boolean input takes no allowed values", "leave the cell empty"),
    Broken("allowed values on text", cells("Inputs", {"D7": "a, b"}),
           "Inputs", "D7", "a text input takes no allowed values"),
    Broken("required not yes or no", cells("Inputs", {"E4": "maybe"}),
           "Inputs", "E4", "'maybe' is not yes or no", "write yes or no"),
    Broken("required left empty", cells("Inputs", {"E7": None}),
           "Inputs", "E7", "'' is not yes or no"),
    Broken("Inputs header misspelt", cells("Inputs", {"C1": "Units"}),
           "Inputs", "C1", "header 'Units' should be 'Unit'", "write Unit"),
    # -- table header
    Broken("table name not snake_case", cells("Severity", {"B1": "Severity Table"}),
           "Severity", "B1", "'Severity Table' is not a valid table name",
           "for example 'severity_table'"),
    Broken("unknown hit policy", cells("Severity", {"B2": "HIGHEST"}),
           "Severity", "B2", "unknown hit policy 'HIGHEST'", "RULE ORDER or OUTPUT ORDER"),
    Broken("hit policy missing", cells("Severity", {"B2": None}),
           "Severity", "B2", "unknown hit policy ''"),
    Broken("row 2 not Hit policy", cells("Severity", {"A2": "Policy"}),
           "Severity", "A2", "row 2 must start with 'Hit policy'"),
    Broken("Kind row missing", cells("Severity", {"A5": "Type"}),
           "Severity", "A5", "row 5 must start with 'Kind'", "write Kind"),
    Broken("Name row missing", cells("Severity", {"A6": None}),
           "Severity", "A6", "row 6 must start with 'Name'", "write Name"),
    Broken("unknown column kind", cells("Severity", {"H5": "Comment"}),
           "Severity", "H5", "unknown column kind 'comment'",
           "write Input, Output, Citation or Note"),
    Broken("column without kind", cells("Severity", {"H5": None}),
           "Severity", "H5", "column has no kind"),
    Broken("input column after the citation", cells("Severity", {"H5": "Input", "H6": "comment",
                                                                 "H9": None}),
           "Severity", "H5", "input column after later columns",
           "put inputs first, then outputs, then Citation and Note"),
    Broken("no output column", cells("Disposition", {"C5": "Note"}),
           "Disposition", None, "the table has no Output column"),
    Broken("no citation column", cells("Disposition", {"D5": "Note"}),
           "Disposition", "E5", "the table has no Citation column"),
    Broken("second citation column", cells("Severity", {"H5": "Citation"}),
           "Severity", "H5", "second Citation column"),
    Broken("input name not snake_case in a table", cells("Severity", {"E6": "Temperature"}),
           "Severity", "E6", "'Temperature' is not a valid input name"),
    Broken("output name not snake_case", cells("Disposition", {"C6": "Disposition"}),
           "Disposition", "C6", "'Disposition' is not a valid output name"),
    Broken("Output values under an input", cells("Severity", {"B7": "true, false"}),
           "Severity", "B7", "Output values is for output columns only"),
    Broken("Default under an input", cells("Severity", {"C8": "focal"}),
           "Severity", "C8", "Default is for output columns only"),
    Broken("output value listed twice", cells("Disposition", {"C7": "EMERGENCY, GP, GP"}),
           "Disposition", "C7", "a value is listed twice", "list each once"),
    Broken("default not allowed", cells("Severity", {"F8": "none"}),
           "Severity", "F8", "'none' is not one of the allowed values",
           'write one of "high", "medium", "low"'),
    Broken("default of the wrong type", cells("Disposition", {"C7": "1, 2, 3", "C8": "zero",
                                                             "C9": 1, "C10": 2, "C11": 3}),
           "Disposition", "C8", "'zero' is not a number"),
    Broken("aggregation with several outputs",
           cells("Disposition", {"B2": "C#", "D5": "Output", "D6": "wait_days", "D9": 0,
                                 "D10": 1, "D11": 7, "E5": "Citation", "E9": "a", "E10": "b",
                                 "E11": "c"}),
           "Disposition", "B2", "COLLECT COUNT needs exactly one output column",
           "keep one output, or use plain COLLECT"),
    Broken("SUM on a text output", cells("Disposition", {"B2": "COLLECT SUM", "C7": None}),
           "Disposition", "C6", "COLLECT SUM needs a numeric output"),
    Broken("MAX on an enum output", cells("Disposition", {"B2": "C>"}),
           "Disposition", "C6", "COLLECT MAX needs a numeric output"),
    # -- rules
    Broken("empty citation", cells("Severity", {"G11": None}),
           "Severity", "G11", "the rule has no citation", "NICE NG42 1.1.3"),
    Broken("duplicate rule id", cells("Severity", {"A11": "S1"}),
           "Severity", "A11", "rule id 'S1' is used twice (also at Severity!A9)"),
    Broken("duplicate rule id as numbers", cells("Severity", {"A11": 1, "A12": 1.0}),
           "Severity", "A12", "rule id '1' is used twice (also at Severity!A11)"),
    Broken("missing rule id", cells("Severity", {"A11": None}),
           "Severity", "A11", "the rule has no id", "write an id such as R3"),
    Broken("output value not allowed", cells("Severity", {"F10": "severe"}),
           "Severity", "F10", "'severe' is not one of the allowed values"),
    Broken("output value of the wrong type", cells("Disposition", {"C7": "1, 2, 3", "C9": 1,
                                                                  "C10": 2, "C11": "three"}),
           "Disposition", "C11", "'three' is not a number", "write a number such as 38.5"),
    Broken("input cell that does not parse", cells("Severity", {"D11": ">= 5 and"}),
           "Severity", "D11", "unexpected 'and' in '>= 5 and'"),
    Broken("comparison on an enum", cells("Severity", {"C11": "> 5"}),
           "Severity", "C11", "'> 5' compares order, but this column is enum"),
    Broken("comparison on a boolean", cells("Severity", {"B11": ">= 1"}),
           "Severity", "B11", "'>= 1' compares order, but this column is boolean"),
    Broken("number in a boolean column", cells("Severity", {"B11": 5}),
           "Severity", "B11", "'5' is not true or false", "write true or false"),
    Broken("text in a number column", cells("Severity", {"D11": "adult"}),
           "Severity", "D11", "'\"adult\"' is not a number"),
    Broken("value outside the enum", cells("Severity", {"C10": "spread"}),
           "Severity", "C10", "'spread' is not one of the allowed values"),
    Broken("reversed range", cells("Severity", {"D12": "[64..18]"}),
           "Severity", "D12", "the range '[64..18]' contains no value",
           "write the smaller bound first"),
    Broken("comparison on a list", then(cells("Severity", {"B2": "COLLECT"}),
                                        cells("Disposition", {"B9": '!= "high"'})),
           "Disposition", "B9", "'!= \"high\"' cannot test a list of values"),
    # -- chaining
    Broken("unknown input column, did you mean", cells("Severity", {"C6": "patern"}),
           "Severity", "C6", "'patern' is not an input or an output of another table",
           "did you mean 'pattern'?"),
    Broken("unknown input column", cells("Severity", {"C6": "zzz_qqq"}),
           "Severity", "C6", "'zzz_qqq' is not an input or an output of another table",
           "declare it on the Inputs sheet, or name an output of another table"),
    Broken("table reads its own output", cells("Severity", {"E6": "severity", "E11": '"high"'}),
           "Severity", "E6", "the table reads its own output 'severity'"),
    Broken("cycle between tables", _cycle,
           "Severity", "A1", "tables read each other's outputs in a cycle: severity, disposition",
           "remove one of the links"),
    Broken("duplicate table names", cells("Disposition", {"B1": "severity"}),
           "Disposition", "B1", "table name 'severity' is also used on sheet 'Severity'"),
    Broken("output named like an input", cells("Disposition", {"C6": "comment"}),
           "Disposition", "C6", "output 'comment' has the name of an input"),
    Broken("output produced twice", cells("Disposition", {"C6": "severity"}),
           "Disposition", "C6", "output 'severity' is also produced by table 'severity'"),
    # -- Tests sheet
    Broken("Tests header unknown, did you mean", cells("Tests", {"C1": "patern"}),
           "Tests", "C1", "'patern' is not an input or an output", "did you mean 'pattern'?"),
    Broken("Tests first column", cells("Tests", {"A1": "Case"}),
           "Tests", "A1", "the first column must be 'Test id'", "write Test id"),
    Broken("Tests boolean fact", cells("Tests", {"B3": "maybe"}),
           "Tests", "B3", "'maybe' is not true or false"),
    Broken("Tests enum fact", cells("Tests", {"C3": "everywhere"}),
           "Tests", "C3", "'everywhere' is not one of the allowed values"),
    Broken("Tests integer fact", cells("Tests", {"D3": 40.5}),
           "Tests", "D3", "'40.5' is not a whole number", "write a whole number"),
    Broken("Tests number fact", cells("Tests", {"E3": "hot"}),
           "Tests", "E3", "'hot' is not a number"),
    Broken("Tests expected value", cells("Tests", {"G3": "severe"}),
           "Tests", "G3", "'severe' is not one of the allowed values"),
    # -- About sheet
    Broken("About Table id empty", cells("About", {"B2": None}),
           "About", None, "'Table id' is missing", "add a row 'Table id' with its value"),
    Broken("About Version empty", cells("About", {"B4": None}),
           "About", None, "'Version' is missing"),
    Broken("About bad semver", cells("About", {"B4": "1.0"}),
           "About", "B4", "'1.0' is not a semantic version",
           "write major.minor.patch, for example 1.0.0"),
    Broken("About semver typed as a number", cells("About", {"B4": 1.5}),
           "About", "B4", "'1.5' is not a semantic version"),
    Broken("About table id not snake_case", cells("About", {"B2": "Mini Triage"}),
           "About", "B2", "'Mini Triage' is not a valid table id name"),
    Broken("About unknown field", cells("About", {"A3": "Titel"}),
           "About", "A3", "unknown field 'titel'"),
    # -- missing sheets
    Broken("no About sheet", without("About"), None, None, "the workbook has no 'About' sheet"),
    Broken("no Inputs sheet", without("Inputs"), None, None,
           "the workbook has no 'Inputs' sheet"),
    Broken("no decision table", without("Severity", "Disposition"), None, None,
           "the workbook has no decision table", "add a sheet whose cell A1 reads 'Table'"),
    # -- limits that keep durable-rules safe (reported by the table reader and the compiler)
    Broken("too many alternatives in one rule", _too_many_alternatives,
           "Severity", "A13", "rule 'S5' combines into 272 alternatives (at most 256)",
           "split it into several rules"),
    Broken("more than 200 input columns", _wide_table,
           "Wide", "GT5", "more than 200 input columns", "split the table into chained tables"),
    Broken("too many message properties", _many_message_properties,
           "Use_tags", "A1", "table 'use_tags' needs 254 message properties (at most 250)"),
]


@pytest.mark.parametrize("case", CORPUS, ids=[c.id for c in CORPUS])
def test_broken_workbook(
    case: Broken, minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    problems = load_problems(tmp_workbook, case.mutate(minimal_sheets))
    found = [p for p in problems if where(p) == (case.sheet, case.cell)
             and case.message in p.message and case.fix in p.fix]
    assert found, f"expected at {case.sheet}!{case.cell}: {case.message}\ngot:\n" + listing(
        problems)


def test_corpus_covers_every_cell_level_problem() -> None:
    """A guard for this file: the corpus names each message family at least once."""
    messages = " | ".join(c.message for c in CORPUS)
    for fragment in ("is not a valid", "unknown type", "declared twice", "enum needs",
                     "listed twice", "numeric range", "takes no allowed values", "yes or no",
                     "should be", "unknown hit policy", "must start with", "column kind",
                     "has no kind", "after later columns", "no Output column",
                     "no Citation column", "second Citation", "output columns only",
                     "needs exactly one output", "needs a numeric output", "has no citation",
                     "used twice", "has no id", "allowed values", "cannot test a list",
                     "reads its own output", "cycle", "also used on sheet", "name of an input",
                     "also produced by", "is not an input or an output", "Test id",
                     "is missing", "semantic version", "unknown field", "no 'About'",
                     "no 'Inputs'", "no decision table", "alternatives", "input columns",
                     "message properties"):
        assert fragment in messages, fragment


@pytest.mark.slow
def test_more_rules_than_a_table_may_hold() -> None:
    """250,000 rules is the limit; this goes through load_sheets (an .xlsx of this size
    takes minutes to write)."""
    inputs = inputs_sheet(("x", "integer", None, "yes"))
    table = decision_table("many", "FIRST", ["x"], ["out"], [["-", "a"]] * 250_001)
    with pytest.raises(WorkbookError) as caught:
        engine.load_sheets([ABOUT, inputs, table])
    (problem,) = caught.value.problems
    assert str(problem) == "Many!A250009: more than 250000 rules — split the table"


@pytest.mark.slow
def test_more_rule_groups_than_a_table_may_hold(tmp_workbook: WriteBook) -> None:
    """Each rule expands into 256 paths; enough rules exceed the compiler's rule groups."""
    from engine.compiler import MAX_ALTERNATIVES, MAX_CHUNKS, PATHS_PER_CHUNK

    inputs = inputs_sheet(("x", "integer", None, "yes"), ("y", "number", None, "yes"))
    xs = ", ".join(f"({2 * i}..{2 * i + 1})" for i in range(16))
    ys = ", ".join(f"({i}..{i}.5)" for i in range(16))
    assert 16 * 16 <= MAX_ALTERNATIVES
    n_rules = MAX_CHUNKS * PATHS_PER_CHUNK // 256 + 1
    table = decision_table("big", "COLLECT", ["x", "y"], ["out"], [[xs, ys, "a"]] * n_rules)
    (problem,) = load_problems(tmp_workbook, [ABOUT, inputs, table])
    assert where(problem) == ("Big", "A1")
    assert f"rule groups (at most {MAX_CHUNKS})" in problem.message
    assert problem.fix == "split the table into chained tables"


# --- all problems, and how they read --------------------------------------------------------


def test_every_problem_is_listed_not_only_the_first(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    sheets = set_cells(minimal_sheets, "About", {"B4": "one"})
    sheets = set_cells(sheets, "Inputs", {"B7": "string"})
    sheets = set_cells(sheets, "Severity", {"D11": ">= 5 and", "F10": "severe", "A12": "S1"})
    sheets = set_cells(sheets, "Disposition", {"D10": None})
    sheets = set_cells(sheets, "Tests", {"C3": "everywhere"})
    problems = load_problems(tmp_workbook, sheets)
    assert [(str(p.location), p.message) for p in problems] == [
        ("About!B4", "'one' is not a semantic version"),
        ("Inputs!B7", "unknown type 'string'"),
        ("Severity!F10", "'severe' is not one of the allowed values"),
        ("Severity!D11", "unexpected 'and' in '>= 5 and'"),
        ("Severity!A12", "rule id 'S1' is used twice (also at Severity!A9)"),
        ("Disposition!D10", "the rule has no citation"),
        ("Tests!C3", "'everywhere' is not one of the allowed values"),
    ]


def test_error_text_reads_sheet_cell_message_fix(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    path = tmp_workbook(set_cell(minimal_sheets, "Severity", "D11", ">= 5 and"))
    with pytest.raises(WorkbookError) as caught:
        engine.load(path)
    error = caught.value
    (problem,) = error.problems
    line = ("Severity!D11: unexpected 'and' in '>= 5 and' — separate alternatives with commas, "
            "for example '\"a\", \"b\"'")
    assert str(problem) == line
    assert str(error) == f"{path}: {line}"
    assert problem.as_dict() == {
        "code": "TV201",
        "sheet": "Severity",
        "cell": "D11",
        "message": "unexpected 'and' in '>= 5 and'",
        "fix": "separate alternatives with commas, for example '\"a\", \"b\"'",
    }


def test_error_text_with_several_problems_lists_one_per_line(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    sheets = set_cells(minimal_sheets, "Severity", {"D11": ">= 5 and", "F10": "severe"})
    path = tmp_workbook(sheets)
    with pytest.raises(WorkbookError) as caught:
        engine.load(path)
    assert str(caught.value) == (
        f"{path}: 2 problems\n"
        "  Severity!F10: 'severe' is not one of the allowed values — "
        'write one of "high", "medium", "low"\n'
        "  Severity!D11: unexpected 'and' in '>= 5 and' — "
        "separate alternatives with commas, for example '\"a\", \"b\"'"
    )


def test_load_sheets_names_its_source(minimal_sheets: Sheets) -> None:
    sheets = set_cell(minimal_sheets, "About", "B4", "v1")
    with pytest.raises(WorkbookError) as caught:
        engine.load_sheets(sheets)
    assert str(caught.value) == (
        "<sheets>: About!B4: 'v1' is not a semantic version — "
        "write major.minor.patch, for example 1.0.0"
    )


# --- output types (docs: "how an output's type is decided") ---------------------------------

OUTPUT_TYPES: list[tuple[str, object, list[object], Kind, tuple[object, ...]]] = [
    ("booleans listed", "true, false", [True, False], Kind.BOOLEAN, (True, False)),
    ("numbers listed", "3, 1.5", [3, 1.5], Kind.NUMBER, (3, 1.5)),
    ("text listed", "hi, lo", ["hi", "lo"], Kind.ENUM, ("hi", "lo")),
    ("text and numbers listed", "hi, 1", ["hi", 1], Kind.ENUM, ("hi", "1")),
    ("no list, boolean cells", None, [True, False], Kind.BOOLEAN, ()),
    ("no list, number cells", None, [2, 2.5], Kind.NUMBER, ()),
    ("no list, text cells", None, ["a", '"b, c"'], Kind.TEXT, ()),  # free text
    ("no list, empty cells", None, [None, None], Kind.TEXT, ()),
]


@pytest.mark.parametrize(("values", "cells", "kind", "allowed"),
                         [c[1:] for c in OUTPUT_TYPES], ids=[c[0] for c in OUTPUT_TYPES])
def test_output_type(tmp_workbook: WriteBook, values: object, cells: list[object], kind: Kind,
                     allowed: tuple[object, ...]) -> None:
    inputs = inputs_sheet(("x", "integer", None, "yes"))
    table = decision_table("t", "FIRST", ["x"], ["out"], [[">= 1", cells[0]], ["-", cells[1]]],
                           values=[values])
    model = engine.load(tmp_workbook([ABOUT, inputs, table]))
    out = model.output("out")
    assert out is not None
    assert (out.kind, out.allowed_values) == (kind, allowed)


def test_chained_tables_evaluate(tmp_workbook: WriteBook) -> None:
    inputs = inputs_sheet(("x", "integer", None, "yes"))
    first = decision_table("score", "FIRST", ["x"], ["score"], [[">= 10", 5], ["-", 1]])
    second = decision_table("band", "FIRST", ["score"], ["band"], [["> 3", "high"],
                                                                   ["-", "low"]],
                            values=["high, low"])
    model: Model = engine.load(tmp_workbook([ABOUT, inputs, second, first]))
    assert model.evaluate({"x": 12}).outputs == {"score": 5, "band": "high"}
    assert model.evaluate({"x": 2}).outputs == {"score": 1, "band": "low"}


# --- engine bugs found while writing these tests (strict xfail: they flip when fixed) --------


@pytest.mark.parametrize("about", [
    [["Field", "Value"], ["Version", "1.0.0"]],
    [],
], ids=["no Table id row", "empty About sheet"])
def test_about_without_table_id_row(
    about: list[list[object]], minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    problems = load_problems(tmp_workbook, replace_sheet(minimal_sheets,
                                                         make_sheet("About", about)))
    assert any(p.message == "'Table id' is missing" for p in problems)


def test_tests_fact_outside_the_inputs_range_is_reported(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    problems = load_problems(tmp_workbook, set_cell(minimal_sheets, "Tests", "D3", 150))
    assert [where(p) for p in problems] == [("Tests", "D3")]


def _with_raw_cell(path: Path, sheet: str, ref: str, value: str, data_type: str) -> Path:
    book = openpyxl.load_workbook(path)
    cell = book[sheet][ref]
    cell.value = value
    cell.data_type = data_type
    book.save(path)
    return path


@pytest.mark.xfail(strict=True, reason="engine bug: an error cell (#N/A, #REF!) in a rule is "
                   "read as an empty cell, i.e. '-', and silently matches everything")
def test_error_cell_in_a_rule_is_reported(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    path = _with_raw_cell(tmp_workbook(minimal_sheets), "Severity", "D10", "#N/A", "e")
    with pytest.raises(WorkbookError) as caught:
        engine.load(path)
    assert [where(p) for p in caught.value.problems] == [("Severity", "D10")]


@pytest.mark.xfail(strict=True, reason="engine bug: a formula cell without a cached value "
                   "(a file written by a script) is read as empty, i.e. '-', silently")
def test_formula_cell_without_value_is_reported(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    path = _with_raw_cell(tmp_workbook(minimal_sheets), "Severity", "D10", "=60+5", "f")
    with pytest.raises(WorkbookError) as caught:
        engine.load(path)
    assert [where(p) for p in caught.value.problems] == [("Severity", "D10")]


def test_output_named_like_an_input_is_not_a_cycle(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    sheets = set_cell(minimal_sheets, "Disposition", "C6", "pattern")
    sheets = remove_sheet(sheets, "Tests")
    problems = load_problems(tmp_workbook, sheets)
    assert [p.message for p in problems] == ["output 'pattern' has the name of an input"]


def test_chaining_from_an_output_without_output_values(tmp_workbook: WriteBook) -> None:
    inputs = inputs_sheet(("x", "integer", None, "yes"))
    first = decision_table("level", "FIRST", ["x"], ["level"], [[">= 10", "high"],
                                                                ["-", "low"]])
    second = decision_table("advice", "FIRST", ["level"], ["advice"], [['"high"', "see GP"],
                                                                       ["-", "wait"]])
    model = engine.load(tmp_workbook([ABOUT, inputs, first, second]))
    assert model.evaluate({"x": 12}).outputs == {"level": "high", "advice": "see GP"}


def test_output_values_mixing_text_and_booleans(tmp_workbook: WriteBook) -> None:
    inputs = inputs_sheet(("x", "integer", None, "yes"))
    table = decision_table("t", "FIRST", ["x"], ["out"], [[">= 1", "unknown"], ["-", "true"]],
                           values=["unknown, true, false"])
    model = engine.load(tmp_workbook([ABOUT, inputs, table]))
    assert model.evaluate({"x": 0}).outputs["t"] == "true"


@pytest.mark.parametrize(("mutation", "expected"), [
    ({"Severity": {"C6": "patern"}}, [("Severity", "C6")]),
    ({"Inputs": {"B3": "float"}}, [("Inputs", "B3")]),
], ids=["misspelt column", "input with unknown type"])
def test_an_unknown_column_does_not_report_its_cells(
    mutation: dict[str, dict[str, object]], expected: list[tuple[str, str]],
    minimal_sheets: Sheets, tmp_workbook: WriteBook,
) -> None:
    sheets = minimal_sheets
    for name, values in mutation.items():
        sheets = set_cells(sheets, name, values)  # type: ignore[arg-type]
    assert [where(p) for p in load_problems(tmp_workbook, sheets)] == expected


@pytest.mark.parametrize("ref", ["B2", "B4"])
def test_an_empty_about_value_is_reported_once(
    ref: str, minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    problems = load_problems(tmp_workbook, set_cell(minimal_sheets, "About", ref, None))
    assert len(problems) == 1, listing(problems)


def test_tests_column_named_twice_is_reported(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    sheets = set_cells(minimal_sheets, "Tests", {"J1": "severity", "J2": "low"})
    problems = load_problems(tmp_workbook, sheets)
    assert [where(p) for p in problems] == [("Tests", "J1")]


# pandas.read_excel turns the text of its default NA list ("null", "NULL", "NA", "N/A", "None",
# "nan", "NaN", "n/a", "#N/A", "<NA>", ...) into NaN, which the reader then treats as an empty
# cell. Read from .xlsx, a rule cell 'null' therefore becomes '-' and matches everything.
NA_TEXT = ["null", "NULL", "NA", "N/A", "None", "nan", "#N/A"]


def test_null_cell_survives_the_xlsx_reader(
    minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    sheets = set_cell(minimal_sheets, "Severity", "E11", "null")  # S3: temperature missing
    model = engine.load(tmp_workbook(sheets))
    severity = model.table("severity")
    assert severity is not None
    assert str(severity.rules[2].cells[3].condition) == "null"
    facts = {"age_years": 30, "red_flag": False, "pattern": "focal", "duration_weeks": 1}
    # S3 (medium) must fire only when the temperature is missing
    assert model.evaluate({**facts, "temperature_c": 37.0}).outputs["severity"] == "low"


@pytest.mark.parametrize("text", NA_TEXT)
def test_na_like_text_is_read_as_text(text: str, tmp_workbook: WriteBook) -> None:
    path = tmp_workbook([make_sheet("S", [[text]])])
    from engine.workbook import read_workbook

    assert read_workbook(path)[0].rows == ((text,),)


def test_enum_value_none_in_a_rule(tmp_workbook: WriteBook) -> None:
    inputs = inputs_sheet(("weakness", "enum", "None, Mild, Severe", "yes"))
    table = decision_table("t", "FIRST", ["weakness"], ["out"], [["None", "ok"], ["-", "see"]])
    model = engine.load(tmp_workbook([ABOUT, inputs, table]))
    assert model.evaluate({"weakness": "Severe"}).outputs["t"] == "see"


# --- docs/workbook-format.md: the worked example and the error messages it shows ------------

DOCS = Path(__file__).resolve().parent.parent / "docs" / "workbook-format.md"


def test_docs_worked_example(minimal_sheets: Sheets, tmp_workbook: WriteBook) -> None:
    model = engine.load(tmp_workbook(minimal_sheets))
    results = {v.vignette_id: model.evaluate(dict(v.facts)) for v in model.vignettes}
    assert {k: dict(d.outputs) for k, d in results.items()} == {
        "T1": {"severity": "high", "disposition": "EMERGENCY"},
        "T2": {"severity": "medium", "disposition": "GP"},
        "T3": {"severity": "low", "disposition": "SELF_CARE"},
    }
    assert {k: [(f.rule_id, f.sheet, f.row) for f in d.fired] for k, d in results.items()} == {
        "T1": [("S1", "Severity", 9), ("D1", "Disposition", 9)],
        "T2": [("S2", "Severity", 10), ("D2", "Disposition", 10)],
        "T3": [("S4", "Severity", 12), ("D3", "Disposition", 11)],
    }
    s2 = results["T2"].fired[0]
    assert [(c.input, c.test, c.value) for c in s2.conditions] == [
        ("pattern", "widespread", "widespread"), ("age_years", ">= 65", 70)]
    # the "points to notice"
    base = {"age_years": 40, "red_flag": True, "pattern": "focal", "duration_weeks": 2}
    both = model.evaluate({**base, "temperature_c": 39})
    assert both.outputs["severity"] == "high"
    assert [f.rule_id for f in both.fired] == ["S1", "D1"]
    none = model.evaluate({**base, "red_flag": False, "pattern": "widespread", "age_years": 30})
    assert none.outputs == {"severity": "low", "disposition": "SELF_CARE"}
    assert [f.rule_id for f in none.fired] == ["D3"]
    # the refused facts
    with pytest.raises(engine.FactError) as caught:
        model.evaluate({"age_years": 121, "red_flag": "no", "pattern": "focal",
                        "duraton_weeks": 2})
    assert str(caught.value) in DOCS.read_text()


DOC_ERRORS: list[tuple[Mutation, str]] = [
    (cells("Severity", {"D11": ">= 5 and"}), "Severity!D11"),
    (cells("Severity", {"C12": '"focal", "everywhere"'}), "Severity!C12"),
    (cells("Severity", {"C11": "> 5"}), "Severity!C11"),
    (cells("Severity", {"D12": "[64..18]"}), "Severity!D12"),
    (cells("Severity", {"C6": "patern"}), "Severity!C6"),
    (cells("Severity", {"A11": "S1"}), "Severity!A11"),
    (cells("Severity", {"G11": None}), "Severity!G11"),
    (_cycle, "Severity!A1"),
    (cells("About", {"B4": "1.0"}), "About!B4"),
    (without("Inputs"), "the workbook has no 'Inputs' sheet"),
]


@pytest.mark.parametrize(("mutate", "start"), DOC_ERRORS, ids=[s for _, s in DOC_ERRORS])
def test_docs_error_messages_are_real(
    mutate: Mutation, start: str, minimal_sheets: Sheets, tmp_workbook: WriteBook
) -> None:
    """Each line of the docs' 'Errors you may see' is what the engine says today."""
    documented = [line for line in DOCS.read_text().splitlines()
                  if line.startswith(start + ":") or line.startswith(start + " ")]
    assert len(documented) == 1, start
    problems = load_problems(tmp_workbook, mutate(minimal_sheets))
    assert documented[0] in [str(p) for p in problems]


def test_docs_unreadable_file_messages_are_real(tmp_path: Path) -> None:
    text = DOCS.read_text()
    notes = tmp_path / "notes.xlsx"
    notes.write_text("not a workbook")
    for path in (notes, tmp_path / "missing.xlsx"):
        error = _load_error(path)
        assert f"`{path.name}: {error.problems[0]}`" in text
