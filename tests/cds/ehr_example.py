"""Rebuild the worked example of docs/ehr.md after the bundled workbook changed:
``python -m tests.cds.ehr_example`` rewrites docs/ehr/hook-request.json and prints the
discovery document and the card to paste into the page (tests/cds/test_docs.py says when
they differ)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import engine
from service import create_app
from tests.cds.fhirdata import bundle, hook_request, patient, response
from tests.service.conftest import WORKBOOK

ROOT = Path(__file__).resolve().parents[2]
BASE = "http://127.0.0.1:8000"


def main() -> None:
    model = engine.load(WORKBOOK).model
    vignette = next(v for v in model.vignettes
                    if v.expected.get("disposition") == "URGENT_SAME_DAY")
    facts = {k: v for k, v in vignette.facts.items() if v is not None and k != "age_years"}
    document = response(model, facts, authored="2026-12-01T09:40:00Z", base_url=BASE)
    request = hook_request({"questionnaireResponse": bundle(document),
                            "patient": patient("1980-05-17")})
    request["hookInstance"] = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"
    request["fhirServer"] = "https://fhir.example.org/r4"
    (ROOT / "docs" / "ehr" / "hook-request.json").write_text(json.dumps(request, indent=2)
                                                            + "\n")
    work = Path(tempfile.mkdtemp())
    try:
        (work / "tables").mkdir()
        shutil.copy(WORKBOOK, work / "tables" / WORKBOOK.name)
        app = create_app({"TABLES_DIR": str(work / "tables"), "WATCH": False,
                          "DATABASE_URL": f"sqlite:///{work / 'audit.sqlite3'}",
                          "LOG_REQUESTS": False, "CDS_VERIFY_JWT": False, "PUBLIC_URL": BASE})
        client = app.test_client()
        print(json.dumps(client.get("/cds-services").json, indent=2))
        print(json.dumps(client.post("/cds-services/muscle_twitching", json=request).json,
                         indent=2, ensure_ascii=False))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
