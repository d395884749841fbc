"""Building workbooks as rows, for tests that need many or large tables."""

from __future__ import annotations

from collections.abc import Sequence

from engine.workbook import Sheet

ABOUT = Sheet("About", (("Table id", "test_table"), ("Version", "1.0.0")))


def inputs_sheet(inputs: Sequence[tuple[str, str, str | None, str]]) -> Sheet:
    """``inputs``: (name, type, allowed values, required yes/no)."""
    header = ("Name", "Type", "Unit", "Allowed values", "Required", "Description")
    rows = tuple(
        (name, kind, None, allowed, required, None) for name, kind, allowed, required in inputs
    )
    return Sheet("Inputs", (header, *rows))


def table_sheet(
    name: str,
    policy: str,
    inputs: Sequence[str],
    outputs: Sequence[str],
    rules: Sequence[Sequence[object]],
    output_values: Sequence[str | None] = (),
    defaults: Sequence[object] = (),
) -> Sheet:
    """``rules``: rows of input cells then output cells; ids R1.. and a citation are added."""
    n_in, n_out = len(inputs), len(outputs)
    values = list(output_values) or [None] * n_out
    default_row = list(defaults) or [None] * n_out
    rows: list[tuple[object, ...]] = [
        ("Table", name),
        ("Hit policy", policy),
        ("Description", None),
        (),
        ("Kind", *["Input"] * n_in, *["Output"] * n_out, "Citation"),
        ("Name", *inputs, *outputs, None),
        ("Output values", *[None] * n_in, *values),
        ("Default", *[None] * n_in, *default_row),
    ]
    for index, rule in enumerate(rules):
        rows.append((f"R{index + 1}", *rule, "test source"))
    return Sheet(name, tuple(rows))


def range_table(n_rules: int, policy: str = "COLLECT") -> list[Sheet]:
    """The worst case for durable-rules' alpha network: rule i is ``x >= i`` on one input, so
    a large x matches every rule at once and every rule hangs off the same node."""
    inputs = inputs_sheet([("x", "integer", None, "yes")])
    rules = [(f">= {i}", f"r{i}") for i in range(n_rules)]
    return [ABOUT, inputs, table_sheet("t", policy, ["x"], ["out"], rules)]
