"""The pages for browsers (service/pages), through Flask's test client: the list of tables,
the form generated from the Inputs sheet, the 404 chosen by the Accept header, the banners,
and text from a workbook that must never become markup. What the page's script draws is
tested in a real browser (tests/browser)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

import engine
from engine.labels import name_label, value_label
from engine.model import Kind
from tests.conftest import make_minimal_sheets
from tests.service.conftest import TABLE, WORKBOOK, admin, edit_workbook, example_facts
from tests.xlsx import set_cells, write_workbook

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
PAGE = f"/tables/{TABLE}"


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside each element with an id."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.open: list[tuple[str, str | None]] = []
        self.text: dict[str, str] = {}
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.tags.append((tag, found))
        if tag not in ("input", "meta", "link", "br", "img"):
            self.open.append((tag, found.get("id")))
            if found.get("id"):
                self.text.setdefault(found["id"], "")

    def handle_endtag(self, tag: str) -> None:
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, ident in self.open:
            if ident:
                self.text[ident] += data

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags
                if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())]

    def options(self, select_id: str) -> list[str]:
        """The option values of one select, in order."""
        inside, values = False, []
        for tag, attrs in self.tags:
            if tag == "select":
                inside = attrs.get("id") == select_id
            elif tag == "option" and inside:
                values.append(attrs.get("value", ""))
        return values


def page_data(page: str) -> dict[str, Any]:
    start = page.index('<script type="application/json" id="page-data">')
    body = page[page.index(">", start) + 1: page.index("</script>", start)]
    data: dict[str, Any] = json.loads(body)
    return data


def test_index_lists_every_table_for_a_browser(client: FlaskClient) -> None:
    answer = client.get("/", headers=HTML)
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    page = answer.get_data(as_text=True)
    for table in client.get("/v1/tables").get_json()["tables"]:
        assert f'href="/tables/{table["id"]}"' in page
        assert table["title"] in page and table["table_version"] in page
        assert table["review_status"] in page
        assert ("released" if table["released"] else "draft") in page


def test_index_is_json_for_api_clients(client: FlaskClient) -> None:
    for accept in (None, "*/*", "application/json", "application/json, text/html;q=0.5"):
        answer = client.get("/", headers={"Accept": accept} if accept else {})
        assert answer.status_code == 200 and answer.is_json, accept
        assert answer.get_json()["tables"] == "/v1/tables"


def test_index_names_a_file_that_did_not_load(client: FlaskClient, tables_dir: Path) -> None:
    (tables_dir / "broken.xlsx").write_bytes(b"not a workbook")
    client.post("/v1/admin/reload", headers=admin())
    page = client.get("/", headers=HTML).get_data(as_text=True)
    assert "Files that did not load" in page and "broken.xlsx" in page


def test_the_form_has_one_control_per_input_named_after_it(client: FlaskClient) -> None:
    model = engine.load(WORKBOOK).model
    schema = client.get(f"/v1/tables/{TABLE}").get_json()["inputs"]["properties"]
    tags = Tags(client.get(PAGE, headers=HTML).get_data(as_text=True))
    named = [a["name"] for t, a in tags.tags if t in ("input", "select") and "name" in a]
    assert named == [i.name for i in model.inputs]
    labels = {a["for"] for a in tags.find("label")}
    for item in model.inputs:
        ident = f"in-{item.name}"
        assert ident in labels, f"{item.name} has no label"
        assert tags.text[f"help-{item.name}"].strip().startswith(item.description.strip())
        label_text = next(text for key, text in tags.text.items() if key == f"field-{item.name}")
        assert name_label(model, item.name) in label_text
        if item.kind is Kind.ENUM:
            assert tags.options(ident) == ["", *item.allowed_values]
            assert value_label(model, item.name, item.allowed_values[0]) in label_text
        elif item.kind is Kind.BOOLEAN:
            assert tags.options(ident) == ["", "true", "false"]
        else:
            control = tags.find("input", id=ident)[0]
            assert control["type"] == "number"
            assert control["step"] == ("1" if item.kind is Kind.INTEGER else "any")
            spec = schema[item.name]
            spec = next(s for s in spec.get("anyOf", [spec]) if s.get("type") != "null")
            for bound in ("minimum", "maximum"):
                if bound in spec:
                    assert float(control[bound[:3]]) == spec[bound], (item.name, bound)
                else:
                    assert bound[:3] not in control
            if item.unit:
                assert f"({item.unit})" in label_text


def test_an_optional_input_can_be_left_not_known(client: FlaskClient) -> None:
    model = engine.load(WORKBOOK).model
    page = client.get(PAGE, headers=HTML).get_data(as_text=True)
    tags = Tags(page)
    optional = [i for i in model.inputs if not i.required]
    required = [i for i in model.inputs if i.required]
    assert optional and required
    for item in model.inputs:
        text = tags.text[f"field-{item.name}"]
        assert ("not known" in text) == (not item.required), item.name
        assert ("optional" in text) == (not item.required), item.name


def test_every_rule_of_every_table_is_a_row_of_its_grid(client: FlaskClient) -> None:
    model = engine.load(WORKBOOK).model
    tags = Tags(client.get(PAGE, headers=HTML).get_data(as_text=True))
    rows: dict[str, list[str]] = {}
    table = ""
    for tag, attrs in tags.tags:
        if tag == "table" and "data-table" in attrs:
            table = attrs["data-table"]
            rows[table] = []
        elif tag == "tr" and "data-rule" in attrs:
            rows[table].append(attrs["data-rule"])
    assert rows == {t.name: [r.rule_id for r in t.rules] for t in model.tables}


def test_the_page_data_names_what_the_script_needs(client: FlaskClient) -> None:
    model = engine.load(WORKBOOK).model
    data = page_data(client.get(PAGE, headers=HTML).get_data(as_text=True))
    assert data["evaluate"] == f"/v1/tables/{TABLE}/evaluate"
    assert data["inputs"] == {i.name: i.kind.value for i in model.inputs}
    header = [c.value for c in next(openpyxl.load_workbook(WORKBOOK, read_only=True)["Tests"]
                                     .iter_rows(max_row=1))]
    assert data["tests_columns"] == [h or "" for h in header]
    disposition = model.output("disposition")
    assert disposition is not None  # its values are listed in order of urgency
    assert data["headline"] == {"table": "disposition", "name": "disposition",
                                "ranked": list(disposition.allowed_values)}


def test_a_draft_shows_the_banner_and_the_version(client: FlaskClient) -> None:
    summary = client.get(f"/v1/tables/{TABLE}").get_json()
    tags = Tags(client.get(PAGE, headers=HTML).get_data(as_text=True))
    banner = tags.find("div", id="release-banner")[0]
    assert ("hidden" in banner) == summary["released"]
    assert summary["review_status"] in tags.text["release-banner"]
    assert tags.text["table-version"] == summary["table_version"]
    assert summary["version"].startswith(tags.text["version-hash"])


@pytest.mark.parametrize("accept", [HTML["Accept"], "text/html"])
def test_an_unknown_table_is_a_friendly_page_for_a_browser(client: FlaskClient,
                                                           accept: str) -> None:
    answer = client.get("/tables/no_such_table", headers={"Accept": accept})
    assert answer.status_code == 404 and answer.mimetype == "text/html"
    page = answer.get_data(as_text=True)
    assert "Not found" in page and "no_such_table" in page and 'href="/"' in page


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_an_unknown_table_is_json_for_an_api_client(client: FlaskClient,
                                                    accept: str | None) -> None:
    answer = client.get("/tables/no_such_table", headers={"Accept": accept} if accept else {})
    assert answer.status_code == 404 and answer.is_json
    assert answer.get_json()["error"] == "unknown_table"


def test_the_json_api_stays_json_for_a_browser(client: FlaskClient) -> None:
    answer = client.get("/v1/tables/no_such_table", headers=HTML)
    assert answer.status_code == 404 and answer.is_json
    assert client.get("/no/such/page", headers=HTML).mimetype == "text/html"


def test_an_unknown_id_is_escaped_in_the_404_page(client: FlaskClient) -> None:
    page = client.get("/tables/<b>x", headers=HTML).get_data(as_text=True)
    assert "<b>x" not in page and "&lt;b&gt;x" in page


def test_the_assets_are_served_from_the_package(client: FlaskClient) -> None:
    script = client.get("/pages/page.js")
    style = client.get("/pages/page.css")
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    assert style.status_code == 200 and style.mimetype == "text/css"
    page = client.get(PAGE, headers=HTML).get_data(as_text=True)
    for tag, attrs in Tags(page).tags:  # nothing from the internet
        for key in ("src", "href"):
            assert not attrs.get(key, "").startswith(("http:", "https:", "//")), (tag, attrs)


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
MARKUP = "<img src=x onerror=alert(2)>"  # no comma or quote: it fits in a list of labels


def test_workbook_text_is_escaped_everywhere(make_app: Callable[..., Flask],
                                             tmp_path: Path) -> None:
    """Title, description, labels, enum values, citations and rule cells holding markup
    are shown as text, and the JSON the script reads cannot close its script element."""
    folder = tmp_path / "hostile"
    folder.mkdir()
    sheets = set_cells(make_minimal_sheets(), "About", {"B3": "Title " + HOSTILE})
    sheets = set_cells(sheets, "Inputs", {"F2": "Age " + HOSTILE, "G1": "Label",
                                          "G3": "Temperature " + HOSTILE,
                                          "H1": "Value labels",  # shown in the grids' cells
                                          "H5": f"Focal {MARKUP}, Multi, Wide"})
    sheets = set_cells(sheets, "Severity", {"G9": "Guideline " + HOSTILE,
                                            "C3": "How serious " + HOSTILE})
    sheets = set_cells(sheets, "Disposition", {"A4": "Labels",
                                               "C4": f"Go now {MARKUP}, GP, Self care"})
    write_workbook(folder / "hostile.xlsx", sheets)
    client = make_app(TABLES_DIR=str(folder), GATE_WITH_VALIDATOR=False).test_client()
    listing = client.get("/", headers=HTML).get_data(as_text=True)
    page = client.get("/tables/mini_triage", headers=HTML).get_data(as_text=True)
    grids = client.get("/tables/mini_triage/grids", headers=HTML).get_data(as_text=True)
    assert "&lt;script&gt;alert(" in grids
    shown = escape(MARKUP)
    for words in (f"Focal {shown} or Multi", f"Go now {shown}"):  # a cell, an output cell
        assert words in page and words in grids
    for text in (listing, page, grids):
        assert "<script>alert" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(" in listing
    assert page.count("&lt;script&gt;alert(") >= 3  # title, help text, citation
    scripts = [a for t, a in Tags(page).tags if t == "script"]
    assert [a.get("src") or a.get("id") for a in scripts] == ["page-data", "/pages/page.js"]
    data = page_data(page)  # escaped in the page, the JSON still reads back as written
    assert data["input_labels"]["temperature_c"] == "Temperature " + HOSTILE
    # shown large: the triage's end (disposition, chained after the PRIORITY severity)
    assert data["headline"]["table"] == "disposition"
    assert data["headline"]["ranked"] == ["EMERGENCY", "GP", "SELF_CARE"]


def test_a_failed_reload_shows_the_last_good_version_and_why(client: FlaskClient,
                                                            tables_dir: Path) -> None:
    before = client.get(f"/v1/tables/{TABLE}").get_json()
    edit_workbook(tables_dir / WORKBOOK.name, "Inputs", "B2", "banana")  # not a type
    client.post("/v1/admin/reload", headers=admin())
    failed = client.get(f"/v1/tables/{TABLE}").get_json()["last_reload"]
    assert failed["status"] == "failed"
    tags = Tags(client.get(PAGE, headers=HTML).get_data(as_text=True))
    banner = " ".join(tags.text["reload-failure"].split())
    assert WORKBOOK.name in banner and "could not be loaded" in banner
    first = failed["errors"][0]
    assert f"{first['sheet']}!{first['cell']}" in banner
    assert " ".join(first["message"].split()) in banner
    assert before["version"].startswith(tags.text["version-hash"])


def test_every_loaded_version_can_be_pinned(client: FlaskClient, tables_dir: Path) -> None:
    first = client.get(f"/v1/tables/{TABLE}").get_json()["version"]
    edit_workbook(tables_dir / WORKBOOK.name, "About", "B4", "9.9.9")
    client.post("/v1/admin/reload", headers=admin())
    second = client.get(f"/v1/tables/{TABLE}").get_json()
    assert second["version"] != first and second["table_version"] == "9.9.9"
    tags = Tags(client.get(PAGE, headers=HTML).get_data(as_text=True))
    assert tags.options("pin") == ["", first]  # "" is the version serving
    assert "9.9.9" in tags.text["table-version"]


def test_a_copy_of_the_bundled_folder_serves(make_app: Callable[..., Flask],
                                             tmp_path: Path) -> None:
    """Every workbook of decision_tables/ gets a page (the folder as `make run` serves it)."""
    folder = tmp_path / "bundled"
    shutil.copytree(WORKBOOK.parent, folder)
    client = make_app(TABLES_DIR=str(folder)).test_client()
    for table in client.get("/v1/tables").get_json()["tables"]:
        assert client.get(f"/tables/{table['id']}", headers=HTML).status_code == 200


def _advice_cell(model: Any, facts: dict[str, Any]) -> tuple[str, str]:
    """The Advice sheet's cell of the rule that advises ``facts``, and its text."""
    fired = next(f for f in model.evaluate(facts).fired if f.table == "advice")
    table = next(t for t in model.model.tables if t.name == "advice")
    rule = next(r for r in table.rules if r.rule_id == fired.rule_id)
    column = "".join(c for c in table.outputs[0].location.cell if c.isalpha())
    return f"{column}{rule.row}", str(rule.outputs[0])


def test_the_grids_of_a_pinned_version_are_its_own(client: FlaskClient,
                                                   tables_dir: Path) -> None:
    first = client.get(f"/v1/tables/{TABLE}").get_json()["version"]
    cell, old = _advice_cell(engine.load(WORKBOOK), example_facts())
    edit_workbook(tables_dir / WORKBOOK.name, "Advice", cell, "Edited advice")
    client.post("/v1/admin/reload", headers=admin())
    second = client.get(f"/v1/tables/{TABLE}").get_json()["version"]
    assert second != first

    pinned = client.get(f"{PAGE}/grids?version={first}", headers=HTML)
    assert pinned.status_code == 200 and pinned.mimetype == "text/html"
    tags = Tags(pinned.get_data(as_text=True))
    assert tags.find("div", id="grids")[0]["data-version"] == first
    assert "pinned" in tags.text["grids-version"]
    assert escape(old) in pinned.get_data(as_text=True)
    assert "Edited advice" not in pinned.get_data(as_text=True)

    serving = client.get(f"{PAGE}/grids", headers=HTML).get_data(as_text=True)
    assert Tags(serving).find("div", id="grids")[0]["data-version"] == second
    assert "Edited advice" in serving and "pinned" not in Tags(serving).text["grids-version"]
    assert client.get(f"{PAGE}/grids?version=nope", headers=HTML).status_code == 404


def test_the_grids_of_a_version_need_the_api_token_when_one_is_set(
        make_app: Callable[..., Flask]) -> None:
    client = make_app(API_TOKEN="grids-token").test_client()
    assert client.get(PAGE, headers=HTML).status_code == 200  # the form itself is open
    assert client.get(f"{PAGE}/grids", headers=HTML).status_code == 401
    allowed = client.get(f"{PAGE}/grids",
                         headers={**HTML, "Authorization": "Bearer grids-token"})
    assert allowed.status_code == 200
    tags = Tags(client.get(PAGE, headers=HTML).get_data(as_text=True))
    token = tags.find("input", id="api-token")[0]
    assert token["type"] == "password" and "hidden" in tags.find("form", id="auth")[0]
    assert tags.find("label", for_="api-token")


def test_the_grids_read_in_labels_with_the_codes_beside(client: FlaskClient) -> None:
    model = engine.load(WORKBOOK).model
    page = client.get(PAGE, headers=HTML).get_data(as_text=True)
    labelled = [i for i in model.inputs if i.label and i.label != i.name]
    assert labelled, "the bundled workbook labels no input"
    for item in labelled[:5]:  # a header: the label, then the name as code
        assert f"{escape(item.label)}<code class=\"code\">{item.name}</code>" in page
    output = model.output("disposition")
    assert output is not None and output.labels
    for value in output.allowed_values:
        words = escape(value_label(model, "disposition", value))
        assert f"{words}<code class=\"code\">{value}</code>" in page


def test_the_grids_of_a_version_only_the_store_holds(make_app: Callable[..., Flask],
                                                     tables_dir: Path) -> None:
    """A worker that keeps no earlier version still draws one pinned on the page: it is
    loaded from the version store, as the API loads it."""
    client = make_app(KEEP_PREVIOUS_VERSIONS=0).test_client()
    first = client.get(f"/v1/tables/{TABLE}").get_json()["version"]
    cell, old = _advice_cell(engine.load(WORKBOOK), example_facts())
    edit_workbook(tables_dir / WORKBOOK.name, "Advice", cell, "Edited advice")
    client.post("/v1/admin/reload", headers=admin())
    held = client.get(f"/v1/tables/{TABLE}").get_json()
    assert held["version"] != first and held["previous_versions"] == []
    pinned = client.get(f"{PAGE}/grids?version={first}", headers=HTML)
    assert pinned.status_code == 200
    assert escape(old) in pinned.get_data(as_text=True)
    assert Tags(pinned.get_data(as_text=True)).find("div", id="grids")[0]["data-version"] == first
