"""The table page in a real browser: the grids follow the version that answered, the page
asks for the API token when the service wants one, and the grids speak in the workbook's
labels while keeping its codes in sight."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.labels import name_label, value_label
from tests.browser.conftest import serious_violations, start_server
from tests.browser.test_table_page import WORKBOOK, after, evaluations, fired_rows, url
from tests.service.conftest import TABLE, edit_workbook, example_facts
from tests.service.servers import Serve, wait_for

Page = Any  # playwright.sync_api.Page, when Playwright is installed
Shot = Callable[..., Path]
TOKEN = "page-test-token-3141"


def fired_text(page: Page, table: str, column: int) -> str:
    """The text of a fired row's ``column``-th output cell in the grid of ``table``."""
    cell = page.locator(f'table[data-table="{table}"] tr.fired td.out').nth(column)
    return " ".join((cell.text_content() or "").split())


def test_a_pinned_version_highlights_its_own_rules(own_server: Serve, page: Page,
                                                   shot: Shot) -> None:
    model = engine.load(WORKBOOK)
    facts = example_facts()
    fired = next(f for f in model.evaluate(facts).fired if f.table == "advice")
    table = next(t for t in model.model.tables if t.name == "advice")
    rule = next(r for r in table.rules if r.rule_id == fired.rule_id)
    old_advice = str(rule.outputs[0])
    new_advice = "EDITED ADVICE: call the practice."
    column = "".join(c for c in table.outputs[0].location.cell if c.isalpha())  # type: ignore[union-attr]

    page.goto(url(own_server, facts))
    after(page, 0)
    old_hash = own_server.call("GET", f"/v1/tables/{TABLE}").body["version"]
    assert fired_text(page, "advice", 0) == old_advice
    edit_workbook(own_server.tables / WORKBOOK.name, "Advice", f"{column}{rule.row}", new_advice)

    def served() -> bool:
        tables = own_server.call("GET", "/v1/tables").body["tables"]
        return any(t["version"] != old_hash for t in tables)

    wait_for(served, within=60)
    page.reload()
    after(page, 0)
    shot("new-advice")
    assert fired_text(page, "advice", 0) == new_advice

    before = evaluations(page)
    page.select_option("#pin", old_hash)
    after(page, before)
    shot("old-version-pinned")
    assert page.text_content("#version-hash") == old_hash[:12]
    assert fired_text(page, "advice", 0) == old_advice  # the old version's rule, highlighted
    assert ("advice", fired.rule_id) in fired_rows(page)
    assert "pinned" in (page.text_content("#grids-version") or "")
    assert not serious_violations(page, "pinned")

    before = evaluations(page)
    page.select_option("#pin", "")  # back to the serving version: its grids again
    after(page, before)
    assert fired_text(page, "advice", 0) == new_advice
    assert "pinned" not in (page.text_content("#grids-version") or "")


@pytest.fixture
def token_server(tmp_path: Path) -> Any:
    running = start_server(tmp_path, env={"TRIAGE_API_TOKEN": TOKEN})
    yield running
    running.stop()


def test_the_page_asks_for_the_api_token_and_keeps_it_for_the_tab(
        token_server: Serve, page: Page, shot: Shot) -> None:
    assert token_server.evaluate().status == 401  # the service does want a token
    page.goto(url(token_server, example_facts()))
    after(page, 0)
    shot("token-asked")
    assert page.is_visible("#auth") and page.is_hidden("#answer")
    field = page.locator("#api-token")
    assert field.get_attribute("type") == "password"
    assert page.locator("label[for=api-token]").text_content() == "API token"
    assert "API token" in (page.text_content("#problem") or "")
    assert "401" not in (page.text_content("#problem") or "")
    assert not serious_violations(page, "token-asked")

    before = evaluations(page)
    field.fill("not-the-token")
    field.press("Enter")
    after(page, before)
    assert "not accepted" in (page.text_content("#auth-message") or "")
    assert page.evaluate("sessionStorage.length") == 0  # a refused token is not kept

    before = evaluations(page)
    field.fill(TOKEN)
    page.click("#auth button[type=submit]")
    after(page, before)
    shot("token-accepted")
    assert page.is_visible("#answer") and page.is_hidden("#auth")
    assert page.input_value("#api-token") == ""  # not left in the page
    assert TOKEN in page.evaluate("Object.values(sessionStorage)")
    assert page.evaluate("localStorage.length") == 0  # never kept beyond the tab

    page.click("#copy-curl")
    page.wait_for_function("document.getElementById('copied').value !== ''")
    command = page.input_value("#copied")
    assert "Authorization: Bearer $TRIAGE_API_TOKEN" in command and TOKEN not in command

    page.reload()  # the same tab: the token is still there, and sent at once
    after(page, 0)
    assert page.is_visible("#answer") and page.is_hidden("#auth")


def test_the_grids_speak_in_labels_and_keep_the_codes(server: Serve, page: Page,
                                                      shot: Shot) -> None:
    model = engine.load(WORKBOOK).model
    page.goto(url(server, example_facts()))
    after(page, 0)
    assert not serious_violations(page, "labelled-grids")
    name = "breathing_difficulty"
    label = name_label(model, name)
    assert label != name, "the bundled workbook no longer labels breathing_difficulty"
    header = page.locator('table[data-table="red_flags"] thead th', has_text=label).first
    for _ in range(2):  # the grids are laid out as they come into view: scroll, then again
        page.locator("#grid-red_flags").scroll_into_view_if_needed()
        page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    shot("labelled-grids")
    assert " ".join((header.text_content() or "").split()) == f"{label}{name}"
    assert header.locator("code").text_content() == name  # the code stays in sight

    grid = next(t for t in model.tables if t.name == "red_flags")
    column = [c.name for c in grid.inputs].index(name)
    rule = next(r for r in grid.rules  # the row for breathless at rest
                if str(r.cells[column].condition) == '"at_rest_or_lying_flat"')
    cell = page.locator(f'#rule-red_flags-{rule.rule_id} td[data-input="{name}"]')
    words = value_label(model, name, "at_rest_or_lying_flat")
    assert words != "at rest or lying flat", "the value has no label in the workbook"
    assert cell.locator("code").text_content() == rule.cells[column].text.strip()
    assert (cell.text_content() or "").startswith(words)

    output = model.output("disposition")
    assert output is not None and output.labels
    first = page.locator('table[data-table="disposition"] tbody tr').first.locator("td.out")
    code = first.locator("code").text_content() or ""
    assert code in output.allowed_values
    assert (first.text_content() or "").startswith(value_label(model, "disposition", code))
    assert TABLE in page.url
