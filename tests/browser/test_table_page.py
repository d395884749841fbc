"""The try-a-case page in a real browser, against the real ``triage serve``.

Expected answers are never written here: they come from ``engine.load(...).evaluate`` on the
same workbook (or from the JSON API itself), so the tests follow the bundled table as its
rows change. Every step is saved as a screenshot in the test's ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

import engine
from engine.evaluator import CompiledModel
from engine.labels import plain
from engine.model import Kind
from engine.validation.vignettes import run_vignettes
from tests.browser.conftest import serious_violations
from tests.service.conftest import ROOT, TABLE, edit_workbook, example_facts
from tests.service.servers import Serve, wait_for

Page = Any  # playwright.sync_api.Page, when Playwright is installed
Shot = Callable[..., Path]
WORKBOOK = ROOT / "decision_tables" / "muscle_twitching.xlsx"
DOCS_SCREENSHOT = "TRIAGE_DOCS_SCREENSHOT"  # where to save the README's picture, if set


@pytest.fixture(scope="module")
def model() -> CompiledModel:
    return engine.load(WORKBOOK)


def url(server: Serve, facts: dict[str, Any] | None = None) -> str:
    query = "?" + urllib.parse.urlencode({k: _form_value(v) for k, v in facts.items()}) \
        if facts else ""
    return f"http://127.0.0.1:{server.port}/tables/{TABLE}{query}"


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def evaluations(page: Page) -> int:
    return int(page.evaluate("window.triagePage ? window.triagePage.evaluations : -1"))


def after(page: Page, count: int) -> None:
    """Wait until the page has drawn more than ``count`` answers."""
    page.wait_for_function(f"window.triagePage && window.triagePage.evaluations > {count}")


def headline_output(model: CompiledModel) -> tuple[str, tuple[Any, ...]]:
    """The output the page shows large (the last table's with one listed output: the
    disposition), and its values by urgency."""
    table = [t for t in model.model.tables if len(t.outputs) == 1
             and t.outputs[0].kind is Kind.ENUM and not t.returns_list][-1]
    return table.name, table.outputs[0].allowed_values


def fired_rows(page: Page) -> set[tuple[str, str]]:
    rows = page.eval_on_selector_all(
        "tr.fired", "rows => rows.map(r => [r.closest('table').dataset.table, r.dataset.rule])")
    return {(t, r) for t, r in rows}


def matched_cells(page: Page) -> set[tuple[str, str, str]]:
    cells = page.eval_on_selector_all(
        "td.match", "cells => cells.map(c => [c.closest('table').dataset.table, "
        "c.closest('tr').dataset.rule, c.dataset.input])")
    return {(t, r, i) for t, r, i in cells}


def fill_form(page: Page, model: CompiledModel, facts: dict[str, Any]) -> None:
    """Set every control as a user would: choose in dropdowns, type numbers."""
    for item in model.inputs:
        control = page.locator(f"[name={item.name}]")
        value = facts.get(item.name)
        if item.kind in (Kind.ENUM, Kind.BOOLEAN):
            control.select_option("" if value is None else _form_value(value))
        else:
            control.fill("" if value is None else _form_value(value))


def test_the_readme_case_gives_its_disposition_with_the_fired_rows_marked(
        server: Serve, page: Page, model: CompiledModel, shot: Shot) -> None:
    facts = example_facts()
    decision = model.evaluate(facts)
    table, _ = headline_output(model)
    expected = decision.outputs[table]
    readme = (ROOT / "README.md").read_text()
    assert f'"{table}": "{expected}"' in readme, "the README names another answer"

    page.goto(url(server))
    shot("empty-form")
    fill_form(page, model, facts)
    before = evaluations(page)
    page.locator("#case button[type=submit]").click()
    after(page, before)
    page.wait_for_function("document.querySelector('#headline .code') !== null")
    shot("readme-case")
    if os.environ.get(DOCS_SCREENSHOT):  # the top of the page: the case and its answer
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=os.environ[DOCS_SCREENSHOT])

    assert page.text_content("#headline .code") == expected
    assert fired_rows(page) == {(f.table, f.rule_id) for f in decision.fired}
    assert matched_cells(page) == {(f.table, f.rule_id, c.input)
                                   for f in decision.fired for c in f.conditions}
    shown = page.locator("#fired > li")
    assert shown.count() == len(decision.fired)
    for item, rule in zip(shown.all_text_contents(), decision.fired, strict=True):
        assert rule.rule_id in item and f"{rule.sheet}, row {rule.row}" in item
        assert rule.citation in item
        for condition in rule.conditions:  # every matched condition, none hidden
            assert f"which matches {condition.test}" in item
    explanation = page.text_content("#explanation") or ""
    assert explanation.strip()
    page.locator("#fired a").first.click()  # each fired rule links to its row
    for table_name in {f.table for f in decision.fired}:  # each grid shows its fired rows
        box = page.locator(f'table[data-table="{table_name}"]').locator("xpath=..")
        box.scroll_into_view_if_needed()
        page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        row = page.locator(f'table[data-table="{table_name}"] tr.fired').first
        inside = page.evaluate(
            "([box, row]) => { const b = box.getBoundingClientRect(), "
            "r = row.getBoundingClientRect(); return r.top >= b.top && r.top < b.bottom; }",
            [box.element_handle(), row.element_handle()])
        assert inside, f"the first fired row of {table_name} is scrolled out of its box"
        shot(f"fired-rows-{table_name}")


def test_breathless_at_rest_is_an_emergency_with_the_red_banner(
        server: Serve, page: Page, model: CompiledModel, shot: Shot) -> None:
    facts = example_facts()
    definition = model.model.input("breathing_difficulty")
    assert definition is not None
    at_rest = next(v for v in definition.allowed_values if plain(v) == "at rest or lying flat")
    table, ranked = headline_output(model)
    expected = model.evaluate({**facts, "breathing_difficulty": at_rest}).outputs[table]
    assert expected == ranked[0], "breathless at rest is no longer the most urgent answer"

    page.goto(url(server, facts))
    after(page, 0)
    before = evaluations(page)
    page.select_option("[name=breathing_difficulty]", at_rest)
    after(page, before)
    shot("breathless-at-rest")
    assert page.text_content("#headline .code") == expected
    assert "level-0" in (page.get_attribute("#headline", "class") or "")
    colour = page.eval_on_selector("#headline", "e => getComputedStyle(e).backgroundColor")
    red, green, blue = map(int, re.findall(r"\d+", colour)[:3])
    assert red > 150 and green < 80 and blue < 80, colour


def test_an_age_out_of_range_is_shown_next_to_the_age(
        server: Serve, page: Page, model: CompiledModel, shot: Shot) -> None:
    facts = example_facts()
    schema = server.call("GET", f"/v1/tables/{TABLE}").body["inputs"]["properties"]
    too_young = schema["age_years"]["minimum"] - 1
    answer = server.call("POST", f"/v1/tables/{TABLE}/evaluate",
                         {"facts": {**facts, "age_years": too_young}})
    assert answer.status == 422
    message = next(e["message"] for e in answer.body["errors"] if e["field"] == "age_years")

    page.goto(url(server, facts))
    after(page, 0)
    before = evaluations(page)
    page.fill("[name=age_years]", str(too_young))
    after(page, before)
    shot("age-out-of-range")
    error = page.locator("#field-age_years .error")
    assert error.text_content() == message
    age = page.locator("[name=age_years]")
    assert age.get_attribute("aria-invalid") == "true"
    assert "err-age_years" in (age.get_attribute("aria-describedby") or "")
    assert page.locator(".error:not(:empty)").count() == 1  # only the age is wrong
    assert page.is_hidden("#answer")  # no stale answer next to the error
    assert f"age_years={too_young}" in page.url  # the address holds the case as typed

    before = evaluations(page)
    page.fill("[name=age_years]", str(facts["age_years"]))
    after(page, before)
    assert page.locator(".error:not(:empty)").count() == 0
    assert page.is_visible("#answer")


def test_a_workbook_edited_on_disk_shows_its_new_version_on_reload(
        own_server: Serve, page: Page, shot: Shot) -> None:
    page.goto(url(own_server, example_facts()))
    after(page, 0)
    old = page.text_content("#table-version")
    old_hash = page.text_content("#version-hash")
    new = f"{old}-edited"
    edit_workbook(own_server.tables / WORKBOOK.name, "About", "B4", new)

    def served() -> bool:
        tables = own_server.call("GET", "/v1/tables").body["tables"]
        return any(t["table_version"] == new for t in tables)

    wait_for(served, within=60)
    page.reload()
    after(page, 0)
    shot("new-version")
    assert page.text_content("#table-version") == new
    assert page.text_content("#version-hash") != old_hash
    pins = page.eval_on_selector_all("#pin option", "o => o.map(x => x.value)")
    assert pins[0] == "" and len(pins) >= 2  # the old version can still be pinned

    before = evaluations(page)
    page.select_option("#pin", pins[1])
    after(page, before)
    shot("old-version-pinned")
    assert page.text_content("#table-version") == old
    assert page.text_content("#version-hash") == old_hash


def test_the_form_works_with_the_keyboard_alone(
        server: Serve, page: Page, model: CompiledModel, shot: Shot, tmp_path: Path) -> None:
    facts = example_facts()
    decision = model.evaluate(facts)
    table, _ = headline_output(model)
    page.goto(url(server))
    first = model.inputs[0].name

    def focused() -> dict[str, str]:
        found: dict[str, str] = page.evaluate(
            "({name: document.activeElement.name || '', id: document.activeElement.id || '',"
            " tag: document.activeElement.tagName, text: document.activeElement.textContent})")
        return found

    for _ in range(12):  # past the header's links, the About summary and the version pin
        page.keyboard.press("Tab")
        if focused()["name"] == first:
            break
    assert focused()["name"] == first, "Tab never reached the first input"
    for item in model.inputs:
        assert focused()["name"] == item.name, f"Tab order: expected {item.name}"
        value = facts.get(item.name)
        if value is not None and item.kind in (Kind.ENUM, Kind.BOOLEAN):
            options = page.eval_on_selector_all(f"[name={item.name}] option",
                                                "o => o.map(x => x.value)")
            for _ in range(options.index(_form_value(value))):
                page.keyboard.press("ArrowDown")
        elif value is not None:
            page.keyboard.type(_form_value(value))
        page.keyboard.press("Tab")
    assert focused()["tag"] == "BUTTON" and focused()["text"] == "Evaluate"
    before = evaluations(page)
    page.keyboard.press("Enter")
    after(page, before)
    page.wait_for_function("document.querySelector('#headline .code') !== null")
    shot("keyboard-result")
    assert page.text_content("#headline .code") == decision.outputs[table]
    assert fired_rows(page) == {(f.table, f.rule_id) for f in decision.fired}

    page.keyboard.press("Tab")
    assert focused()["id"] == "copy-curl"
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('copied').value !== ''")
    command = page.input_value("#copied")
    assert command.startswith("curl ") and f"/v1/tables/{TABLE}/evaluate" in command
    sent = json.loads(command.split("-d '", 1)[1].rsplit("'", 1)[0])
    assert sent == {"facts": facts}
    assert page.evaluate("navigator.clipboard.readText()") == command

    page.keyboard.press("Tab")
    assert focused()["id"] == "copy-row"
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('copied').value.includes('\\t')")
    shot("keyboard-copied-row")
    row = page.input_value("#copied").split("\t")
    columns = page.evaluate("JSON.parse(document.getElementById('page-data').textContent)"
                            ".tests_columns")
    assert len(row) == len(columns)
    cells = dict(zip(columns, row, strict=True))
    assert cells[table] == decision.outputs[table]
    for name, value in facts.items():
        if name in cells:
            assert cells[name] == _form_value(value), name
    vignette = pasted_vignette(row, tmp_path)
    assert vignette.passed, vignette.message


def _as_excel_reads(text: str) -> Any:
    """A pasted cell as Excel stores it: numbers and TRUE/FALSE typed, the rest text."""
    if text in ("true", "false"):
        return text == "true"
    try:
        return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        return text or None


def pasted_vignette(row: list[str], folder: Path) -> Any:
    """Paste a copied Tests-sheet row under the workbook's last vignette and run it: the
    case tried on the page becomes a passing vignette in one paste."""
    copy = folder / WORKBOOK.name
    book = openpyxl.load_workbook(WORKBOOK)
    tests = book["Tests"]
    tests.append([_as_excel_reads(cell) for cell in row])
    book.save(copy)
    results, _ = run_vignettes(engine.load(copy))
    return next(r for r in results if r.vignette_id == row[0])


def test_axe_finds_no_serious_or_critical_violation(
        server: Serve, page: Page, model: CompiledModel, shot: Shot) -> None:
    facts = example_facts()
    checked = []
    for step, address in (("index", f"http://127.0.0.1:{server.port}/"),
                          ("answer", url(server, facts)),
                          ("field-error", url(server, {**facts, "age_years": -1})),
                          ("not-found", f"http://127.0.0.1:{server.port}/tables/nope")):
        page.goto(address)
        if "/tables/muscle" in address:
            after(page, 0)
        shot(f"axe-{step}", full_page=True)
        bad = serious_violations(page, step)
        assert not bad, (step, bad)
        checked.append(step)
    assert len(checked) == 4


def test_print_the_timing_targets(server: Serve, page: Page, model: CompiledModel,
                                  shot: Shot) -> None:
    """Time to interactive of the table page (target: 300 ms) and from a change of the form
    to its result drawn (target: 100 ms), measured with performance.now() in the page, on
    loopback. Printed, not asserted: a shared CI machine's timings are not a verdict."""
    facts = example_facts()
    address = url(server, facts)
    interactive = []
    for _ in range(11):  # the first load warms the server's caches and the browser's
        page.goto(address)
        after(page, 0)
        interactive.append(page.evaluate("window.triagePage.interactive"))
    definition = model.model.input("breathing_difficulty")
    assert definition is not None
    values = list(definition.allowed_values)
    for index in range(20):
        before = evaluations(page)
        page.select_option("[name=breathing_difficulty]", values[index % len(values)])
        after(page, before)
    changes = page.evaluate("window.triagePage.changes")
    assert len(changes) == 20
    shot("timed")
    warm = interactive[1:]
    print(f"\nTARGET time to interactive (table page, loopback): median "
          f"{statistics.median(warm):.0f} ms, max {max(warm):.0f} ms over {len(warm)} warm "
          f"loads (first load {interactive[0]:.0f} ms); target <= 300 ms")
    print(f"TARGET form change to result drawn: median {statistics.median(changes):.1f} ms, "
          f"max {max(changes):.1f} ms over {len(changes)} changes; target <= 100 ms")


def test_a_failed_reload_keeps_the_last_good_version_with_a_banner(
        own_server: Serve, page: Page, shot: Shot) -> None:
    page.goto(url(own_server, example_facts()))
    after(page, 0)
    version = page.text_content("#version-hash")
    assert page.locator("#reload-failure").count() == 0
    edit_workbook(own_server.tables / WORKBOOK.name, "Inputs", "B2", "banana")  # not a type

    def refused() -> dict[str, Any] | None:
        tables = own_server.call("GET", "/v1/tables").body["tables"]
        last = tables[0]["last_reload"]
        return last if last and last["status"] == "failed" else None

    wait_for(refused, within=60)
    failure = refused()
    assert failure is not None
    page.reload()
    after(page, 0)
    shot("reload-refused")
    banner = " ".join((page.text_content("#reload-failure") or "").split())
    first = failure["errors"][0]
    assert WORKBOOK.name in banner and f"{first['sheet']}!{first['cell']}" in banner
    assert page.text_content("#version-hash") == version  # the last good version serves
    assert page.is_visible("#answer")  # and still answers
