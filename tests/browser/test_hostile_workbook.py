"""Text from a workbook, from an answer or typed into the form never becomes markup in a
real browser: a workbook whose title, help, labels, citations and advice hold HTML that
would run a script is shown as text, and no script runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import start_server
from tests.conftest import make_minimal_sheets
from tests.xlsx import set_cells, write_workbook

Page = Any
ATTACK = '<img src=x onerror="window.injected=1"><script>window.injected=2</script>'


def test_markup_in_a_workbook_or_the_form_is_shown_as_text(
        page: Page, tmp_path: Path, shot: Any) -> None:
    source = tmp_path / "source"
    source.mkdir()
    sheets = set_cells(make_minimal_sheets(), "About", {"B3": "Title " + ATTACK})
    sheets = set_cells(sheets, "Inputs", {"F2": "Age " + ATTACK, "G1": "Label",
                                          "G4": "Red flag " + ATTACK})
    sheets = set_cells(sheets, "Severity", {"G9": "Guideline " + ATTACK,
                                            "C3": "How serious " + ATTACK})
    write_workbook(source / "hostile.xlsx", sheets)
    server = start_server(tmp_path / "serve", source)
    try:
        page.goto(f"http://127.0.0.1:{server.port}/tables/mini_triage")
        page.select_option("[name=red_flag]", "true")
        page.select_option("[name=pattern]", "focal")
        page.fill("[name=age_years]", "40")
        page.fill("[name=duration_weeks]", "2")
        page.fill("[name=comment]", ATTACK)
        before = page.evaluate("window.triagePage.evaluations")
        page.keyboard.press("Enter")
        page.wait_for_function(f"window.triagePage.evaluations > {before}")
        page.wait_for_function("document.querySelector('#fired li') !== null")
        shot("hostile")
        assert page.evaluate("window.injected") is None
        assert page.locator("#main img, #main script:not(#page-data)").count() == 0
        assert ATTACK in (page.text_content("h1") or "")
        assert ATTACK in (page.text_content("#fired") or "")  # the citation, from the answer
        assert ATTACK in (page.text_content("#field-red_flag label") or "")
    finally:
        server.stop()
