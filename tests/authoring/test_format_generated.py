"""`triage format` on random workbooks (the generator of the differential tests): every
chained table, hit policy and input type the format accepts. Formatting keeps the content
version, writes drop-downs whose lists hold the declared values, and a second run finds the
workbook formatted."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings

from engine.authoring import format_workbook
from engine.loader import content_version
from engine.workbook import read_workbook
from tests.strategies import Generated, models, render
from tests.xlsx import write_workbook


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a shrink of files takes minutes
)
@given(generated=models(max_tables=3))
def test_random_workbooks_keep_their_content_and_format_once(generated: Generated) -> None:
    from openpyxl import load_workbook

    with tempfile.TemporaryDirectory() as folder:
        path = write_workbook(Path(folder) / "random.xlsx", render(generated.spec))
        version = content_version(read_workbook(path))
        assert format_workbook(path).changed
        assert content_version(read_workbook(path)) == version
        assert not format_workbook(path, check=True).changed
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = load_workbook(path)
        listed = {
            value
            for row in book["Lists"].iter_rows(min_row=2, values_only=True)
            for value in row
            if value is not None
        }
        read = {name for table in generated.spec.tables for name in table.inputs}
        for spec in generated.spec.inputs:
            if spec.kind == "enum" and spec.name in read:  # an unread input gets no list
                assert set(generated.pools[spec.name]) <= listed
