"""docs/ehr.md's worked example is what the service answers: its request file gives the card
the page shows, and the discovery document on the page is the real one."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "ehr.md"
REQUEST = ROOT / "docs" / "ehr" / "hook-request.json"
STALE = ("docs/ehr.md is out of date with the bundled workbook: run "
         "`python -m tests.cds.ehr_example` and paste what it prints")


def _json_after(heading: str) -> object:
    text = PAGE.read_text("utf-8")
    section = text[text.index(heading):]
    block = re.search(r"```json\n(.*?)```", section, re.S)
    assert block is not None
    return json.loads(block.group(1))


def test_the_worked_example_gives_the_card_shown(make_app: Callable[..., Flask]) -> None:
    client = make_app(CDS_VERIFY_JWT=False, PUBLIC_URL="http://127.0.0.1:8000").test_client()
    answer = client.post("/cds-services/muscle_twitching",
                         json=json.loads(REQUEST.read_text("utf-8")))
    assert answer.status_code == 200, answer.json
    [card] = answer.json["cards"]
    shown = _json_after("The answer:")["cards"][0]  # type: ignore[index]
    for key in ("summary", "indicator", "overrideReasons", "source", "links"):
        assert card[key] == shown[key], f"{key}: {STALE}"
    assert card["detail"].startswith(shown["detail"].split(" ... ")[0])
    assert client.get("/cds-services").json == _json_after("## 3. Discovery"), STALE


def test_the_questionnaire_shown_is_valid_r4_and_matches_the_real_items(
        make_app: Callable[..., Flask]) -> None:
    from fhir.resources.R4B.questionnaire import Questionnaire

    shown = _json_after("## 1. The Questionnaire")
    Questionnaire.model_validate(shown)
    client = make_app(PUBLIC_URL="http://127.0.0.1:8000").test_client()
    real = json.loads(client.get("/v1/tables/muscle_twitching/questionnaire").data)
    by_link = {i["linkId"]: i for i in real["item"]}
    for item in shown["item"]:  # type: ignore[index]
        actual = by_link[item["linkId"]]
        for key in ("text", "type", "required"):
            assert item[key] == actual[key], (item["linkId"], key)
        for option in item.get("answerOption", []):
            assert option in actual["answerOption"]
    for key in ("url", "version", "name", "title", "status"):
        assert shown[key] == real[key]  # type: ignore[index]
