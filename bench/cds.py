"""CDS Hooks benchmark: a hook call against the plain evaluate call, and building a
questionnaire.

Run ``python bench/cds.py`` (about half a minute; ``--json`` for machine-readable output).
Figures and method are in docs/performance.md, section "CDS Hooks". Only 127.0.0.1 is
targeted.

* **Hook call / evaluate.** One real ``triage serve`` (one worker, so that requests do not
  queue behind each other's cores) with JWT verification on. The same vignettes of the
  bundled workbook are sent, one request at a time over a keep-alive connection, as a plain
  ``POST /v1/tables/<id>/evaluate`` and as a CDS Hooks ``POST /cds-services/<id>``: the
  facts in a prefetched Bundle with a QuestionnaireResponse and the Patient, and a fresh
  RS384-signed JWT each time (signed in advance: signing is the EHR's cost, not ours).
  Rounds alternate between the two kinds, so a noisy neighbour hurts both alike; the median
  latency of each and their ratio are reported. Target: at most 2x.
* **Questionnaire.** A workbook of 30 inputs of every type (ranges, units, enums with
  labels), its Questionnaire built and validated with the fhir.resources R4 models: the
  median of 50 runs. Target: at most 50 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# first, even when PYTHONPATH names it: bench/engine.py must not stand in for the package
sys.path.insert(0, str(ROOT))

from bench.loadgen import HOST, Server, free_port, wait_ready  # noqa: E402

WORKBOOK = ROOT / "decision_tables" / "muscle_twitching.xlsx"
TABLE_ID = "muscle_twitching"
ISSUER = "https://ehr.bench.invalid"
TARGET_RATIO = 2.0
TARGET_QUESTIONNAIRE_MS = 50.0


def _keys(workdir: Path) -> tuple[Any, Path]:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = workdir / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**public, "kid": "k1", "alg": "RS384"}]}))
    issuers = workdir / "issuers.json"
    issuers.write_text(json.dumps({ISSUER: {"jwks_file": str(jwks)}}))
    return key, issuers


def _tokens(key: Any, audience: str, count: int) -> list[str]:
    import jwt

    now = int(time.time())
    return [jwt.encode({"iss": ISSUER, "aud": audience, "iat": now, "exp": now + 300,
                        "jti": uuid.uuid4().hex}, key, algorithm="RS384",
                       headers={"kid": "k1", "typ": "JWT"}) for _ in range(count)]


def _hook_bodies(base: str) -> tuple[list[bytes], list[bytes]]:
    """(evaluate bodies, hook bodies) for the same vignettes."""
    import engine
    from engine.fhir.questionnaire import canonical_url, value_system
    from engine.model import Kind

    model = engine.load(WORKBOOK).model
    keys = {Kind.BOOLEAN: "valueBoolean", Kind.INTEGER: "valueInteger",
            Kind.NUMBER: "valueDecimal", Kind.TEXT: "valueString"}
    plain, hooked = [], []
    for vignette in model.vignettes:
        facts = {k: v for k, v in vignette.facts.items() if v is not None}
        items = []
        for definition in model.inputs:
            if definition.name not in facts:
                continue
            value = facts[definition.name]
            answer = ({"valueCoding": {"system": value_system(model, base, definition.name),
                                       "code": value}}
                      if definition.kind is Kind.ENUM else {keys[definition.kind]: value})
            items.append({"linkId": definition.name, "answer": [answer]})
        response = {"resourceType": "QuestionnaireResponse", "id": "qr",
                    "questionnaire": f"{canonical_url(model, base)}|{model.about.version}",
                    "status": "completed", "authored": "2026-12-01T09:00:00Z", "item": items}
        prefetch = {
            "questionnaireResponse": {"resourceType": "Bundle", "type": "searchset",
                                      "entry": [{"resource": response}]},
            "patient": {"resourceType": "Patient", "id": "p1", "birthDate": "1980-05-17"},
        }
        plain.append(json.dumps({"facts": facts}).encode())
        hooked.append(json.dumps({
            "hookInstance": str(uuid.uuid4()), "hook": "patient-view",
            "context": {"userId": "Practitioner/1", "patientId": "p1"},
            "prefetch": prefetch}).encode())
    return plain, hooked


def _round(connection: http.client.HTTPConnection, path: str, bodies: Sequence[bytes],
           tokens: list[str] | None) -> list[float]:
    times = []
    for body in bodies:
        headers = {"Content-Type": "application/json"}
        if tokens is not None:
            headers["Authorization"] = f"Bearer {tokens.pop()}"
        started = time.perf_counter()
        connection.request("POST", path, body=body, headers=headers)
        answer = connection.getresponse()
        answer.read()
        times.append(time.perf_counter() - started)
        if answer.status != 200:
            raise RuntimeError(f"{path}: HTTP {answer.status}")
    return times


def hook_ratio(rounds: int = 6) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-cds-"))
    try:
        key, issuers = _keys(workdir)
        tables = workdir / "tables"
        tables.mkdir()
        shutil.copy(WORKBOOK, tables / WORKBOOK.name)
        port = free_port()
        base = f"http://{HOST}:{port}"
        triage = Path(sys.executable).with_name("triage")
        server = Server([str(triage), "serve", "--tables", str(tables), "--port", str(port),
                         "--workers", "1", "--database-url",
                         f"sqlite:///{workdir / 'audit.sqlite3'}", "--log-level", "warning"],
                        port, {"TRIAGE_CDS_ISSUERS": str(issuers)})
        try:
            wait_ready(port)
            plain, hooked = _hook_bodies(base)
            service = f"/cds-services/{TABLE_ID}"
            tokens = _tokens(key, base + service, len(hooked) * (rounds + 1))
            connection = http.client.HTTPConnection(HOST, port, timeout=30)
            _round(connection, f"/v1/tables/{TABLE_ID}/evaluate", plain, None)  # warm-up
            _round(connection, service, hooked, tokens)
            evaluate: list[float] = []
            hook: list[float] = []
            for _ in range(rounds):
                evaluate += _round(connection, f"/v1/tables/{TABLE_ID}/evaluate", plain, None)
                hook += _round(connection, service, hooked, tokens)
            connection.close()
        finally:
            server.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    evaluate_ms = statistics.median(evaluate) * 1000
    hook_ms = statistics.median(hook) * 1000
    return {"requests_each": len(evaluate), "evaluate_median_ms": round(evaluate_ms, 3),
            "hook_median_ms": round(hook_ms, 3), "ratio": round(hook_ms / evaluate_ms, 3),
            "target_ratio": TARGET_RATIO}


def thirty_inputs() -> Any:
    """A workbook of 30 inputs (every kind, with units, ranges and labels), as a model."""
    import engine
    from engine.workbook import Sheet

    kinds = [("integer", "years", "[0..120]", None), ("number", "mmol/L", "[0.5..9.5]", None),
             ("boolean", None, None, None), ("enum", None, "low, medium, high",
                                             "Low, Medium, High"),
             ("number", "days", ">= 0", None)]
    rows = [("Name", "Type", "Unit", "Allowed values", "Required", "Description", "Label",
             "Value labels")]
    for index in range(30):
        kind, unit, allowed, labels = kinds[index % len(kinds)]
        rows.append((f"input_{index:02d}", kind, unit, allowed, "yes" if index % 3 else "no",
                     f"Question {index} asked of the patient", f"Question {index}", labels))
    about = Sheet("About", (("Table id", "thirty"), ("Title", "Thirty inputs"),
                            ("Version", "1.0.0")))
    table = Sheet("Result", (("Table", "result"), ("Hit policy", "FIRST"), ("Description", ""),
                             (), ("Kind", "Input", "Output", "Citation"),
                             ("Name", "input_02", "result", None),
                             ("Output values", None, "yes, no", None), ("Default", None, "no"),
                             ("R1", "true", "yes", "Bench")))
    inputs = Sheet("Inputs", tuple(rows))
    return engine.load_sheets((about, inputs, table)).model


def questionnaire_time(runs: int = 50) -> dict[str, Any]:
    from fhir.resources.R4B.questionnaire import Questionnaire

    from engine.fhir.questionnaire import questionnaire

    model = thirty_inputs()
    assert len(model.inputs) == 30
    Questionnaire.model_validate(questionnaire(model))  # imports and first-use costs
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        Questionnaire.model_validate(questionnaire(model))
        times.append(time.perf_counter() - started)
    return {"inputs": 30, "runs": runs,
            "median_ms": round(statistics.median(times) * 1000, 3),
            "max_ms": round(max(times) * 1000, 3), "target_ms": TARGET_QUESTIONNAIRE_MS}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)
    result = {"questionnaire": questionnaire_time(), "hook": hook_ratio(args.rounds)}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        q, h = result["questionnaire"], result["hook"]
        print(f"questionnaire of 30 inputs, built and validated: median {q['median_ms']} ms "
              f"(max {q['max_ms']} ms; target <= {q['target_ms']} ms)")
        print(f"evaluate: median {h['evaluate_median_ms']} ms; CDS Hooks call: median "
              f"{h['hook_median_ms']} ms; ratio {h['ratio']} (target <= {h['target_ratio']}) "
              f"over {h['requests_each']} requests each")
    ok = (result["questionnaire"]["median_ms"] <= TARGET_QUESTIONNAIRE_MS
          and result["hook"]["ratio"] <= TARGET_RATIO)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
