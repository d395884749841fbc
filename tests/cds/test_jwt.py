"""The CDS client's JWT: a token signed as the specification describes is accepted, and
each way a token can be wrong is refused with a 401 that says which."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.config import ConfigError, settings
from tests.cds.conftest import ISSUER, PUBLIC_URL, SERVICE, bearer, jwks, public_pem, rsa_key
from tests.cds.fhirdata import bundle, hook_request, patient, response, routine
from tests.service.conftest import example_facts


@pytest.fixture
def client(secure_app: Flask) -> FlaskClient:
    return secure_app.test_client()


def _body(app: Flask) -> dict[str, Any]:
    model = app.extensions["triage"].registry.snapshot.slots["muscle_twitching"].current.model
    qr = response(model.model, example_facts(), base_url=PUBLIC_URL)
    return hook_request({"questionnaireResponse": bundle(qr), "patient": patient()})


def _call(app: Flask, token: str, path: str = SERVICE) -> Any:
    return app.test_client().post(path, json=_body(app), headers=bearer(token),
                                  base_url="http://internal:8000")


def test_a_token_signed_by_a_trusted_ehr_is_accepted(secure_app: Flask,
                                                     token: Callable[..., str]) -> None:
    answer = _call(secure_app, token())
    assert answer.status_code == 200, answer.json
    model = secure_app.extensions["triage"].registry.snapshot.slots["muscle_twitching"]
    assert answer.json["cards"][0]["summary"].startswith(routine(model.current.model.model))


def test_the_discovery_url_is_an_accepted_audience(secure_app: Flask,
                                                   token: Callable[..., str]) -> None:
    assert _call(secure_app, token(aud=PUBLIC_URL + "/cds-services")).status_code == 200


def _refused(app: Flask, text: str, words: str) -> None:
    answer = _call(app, text)
    assert answer.status_code == 401, answer.json
    assert answer.json["error"] in ("invalid_token", "unauthorized")
    assert words in answer.json["message"], answer.json["message"]
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_signature_is_refused(secure_app: Flask, token: Callable[..., str]) -> None:
    _refused(secure_app, token(key=rsa_key()), "signature does not verify")


def test_an_expired_token_is_refused(secure_app: Flask, token: Callable[..., str]) -> None:
    now = int(time.time())
    _refused(secure_app, token(iat=now - 400, exp=now - 100), "expired")


def test_a_token_living_longer_than_five_minutes_is_refused(
        secure_app: Flask, token: Callable[..., str]) -> None:
    now = int(time.time())
    _refused(secure_app, token(iat=now, exp=now + 3600), "at most 300 s")


def test_a_token_issued_in_the_future_is_refused(secure_app: Flask,
                                                 token: Callable[..., str]) -> None:
    now = int(time.time())
    _refused(secure_app, token(iat=now + 120, exp=now + 300), "not valid yet")


@pytest.mark.parametrize("aud", ["https://evil.example.org/cds-services/muscle_twitching",
                                 PUBLIC_URL + "/cds-services/other_table"])
def test_a_wrong_audience_is_refused(secure_app: Flask, token: Callable[..., str],
                                     aud: str) -> None:
    _refused(secure_app, token(aud=aud), f"aud must be {PUBLIC_URL}{SERVICE}")


def test_a_replayed_jti_is_refused(secure_app: Flask, token: Callable[..., str]) -> None:
    once = token(jti="the-same-jti")
    assert _call(secure_app, once).status_code == 200
    _refused(secure_app, once, "jti replayed")
    _refused(secure_app, token(jti="the-same-jti"), "jti replayed")  # new token, same jti


def test_alg_none_is_refused(secure_app: Flask) -> None:
    now = int(time.time())
    unsigned = jwt.encode({"iss": ISSUER, "aud": PUBLIC_URL + SERVICE, "iat": now,
                           "exp": now + 300, "jti": "n"}, None, algorithm="none")
    _refused(secure_app, unsigned, "alg 'none' is not allowed")


def test_hs256_keyed_with_the_public_key_is_refused(secure_app: Flask,
                                                   ehr_key: Any) -> None:
    """The classic confusion: an HMAC whose secret is the issuer's public key, which anyone
    can read from its JWKS."""
    now = int(time.time())
    import base64
    import hashlib
    import hmac

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    head = part({"alg": "HS256", "typ": "JWT", "kid": "ehr-key-1"})
    body = part({"iss": ISSUER, "aud": PUBLIC_URL + SERVICE, "iat": now, "exp": now + 300,
                 "jti": "hs"})
    signature = hmac.new(public_pem(ehr_key), f"{head}.{body}".encode(), hashlib.sha256)
    forged = f"{head}.{body}." + base64.urlsafe_b64encode(signature.digest()).rstrip(
        b"=").decode()
    _refused(secure_app, forged, "alg 'HS256' is not allowed")


def test_an_unknown_issuer_is_refused(secure_app: Flask, token: Callable[..., str]) -> None:
    _refused(secure_app, token(iss="https://stranger.example.org"),
             "issuer 'https://stranger.example.org' is not a trusted CDS client")


@pytest.mark.parametrize("missing", ["jti", "exp", "iat", "aud"])
def test_a_token_without_a_required_claim_is_refused(
        secure_app: Flask, token: Callable[..., str], missing: str) -> None:
    _refused(secure_app, token(**{missing: None}), "the token")


def test_no_token_and_garbage_are_refused(secure_app: Flask) -> None:
    answer = secure_app.test_client().post(SERVICE, json=_body(secure_app))
    assert answer.status_code == 401 and "Authorization: Bearer" in answer.json["message"]
    _refused(secure_app, "not-a-jwt", "not a JWT")


def test_feedback_needs_a_token_too(secure_app: Flask, token: Callable[..., str]) -> None:
    answer = secure_app.test_client().post(
        SERVICE + "/feedback", json={"feedback": []})
    assert answer.status_code == 401


def test_discovery_is_open(client: FlaskClient) -> None:
    assert client.get("/cds-services").status_code == 200


# --- keys from an allow-listed jku ------------------------------------------------------------


@pytest.fixture
def jwks_server(ehr_key: Any) -> Iterator[str]:
    document = json.dumps(jwks(ehr_key)).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()
    server.server_close()


def test_keys_come_from_an_allow_listed_jku(make_app: Callable[..., Flask], jwks_server: str,
                                            token: Callable[..., str]) -> None:
    app = make_app(PUBLIC_URL=PUBLIC_URL, CDS_TRUSTED_ISSUERS={ISSUER: {"jku": [jwks_server]}})
    assert _call(app, token(headers={"jku": jwks_server})).status_code == 200
    assert _call(app, token()).status_code == 200  # the one allow-listed jku, by default
    other = jwks_server.replace("jwks.json", "other.json")
    _refused(app, token(headers={"jku": other}), "not on this issuer's allow-list")


# --- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "words"), [
    ({"CDS_JWT_ALGORITHMS": ["RS384", "HS256"]}, "'HS256' is not allowed"),
    ({"CDS_JWT_ALGORITHMS": ["none"]}, "'none' is not allowed"),
    ({"CDS_TRUSTED_ISSUERS": {ISSUER: {}}}, "needs a 'jwks_file' or a 'jku' list"),
    ({"CDS_TRUSTED_ISSUERS": {ISSUER: {"jwks_file": "/nonexistent.json"}}}, "cannot read"),
    ({"CDS_TRUSTED_ISSUERS": "/nonexistent.json"}, "cannot read"),
    ({"PUBLIC_URL": "triage.example.org"}, "PUBLIC_URL must be an http(s) URL"),
    ({"CDS_VERIFY_JWT": "off"}, "CDS_VERIFY_JWT must be true or false"),
])
def test_bad_security_settings_stop_the_start(given: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(given)
    assert words in str(caught.value)


def test_issuers_may_be_a_file(tmp_path: Path, jwks_file: Path) -> None:
    path = tmp_path / "issuers.json"
    path.write_text(json.dumps({ISSUER: {"jwks_file": str(jwks_file)}}))
    assert settings({"CDS_TRUSTED_ISSUERS": str(path)})["CDS_TRUSTED_ISSUERS"] == str(path)


def test_verification_is_on_unless_turned_off(make_app: Callable[..., Flask]) -> None:
    app = make_app()  # no issuers configured: nobody is trusted
    answer = app.test_client().post(SERVICE, json=_body(app), headers=bearer("x.y.z"))
    assert answer.status_code == 401


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, True), ({"TRIAGE_CDS_VERIFY_JWT": "off"}, False), ({"TRIAGE_CDS_VERIFY_JWT": "on"}, True),
])
def test_only_an_explicit_setting_turns_verification_off(environ: dict[str, str],
                                                        expected: bool) -> None:
    from service.serve import cds_settings

    assert cds_settings(environ)["CDS_VERIFY_JWT"] is expected


def test_an_unclear_verification_setting_stops_the_start() -> None:
    from service.serve import cds_settings

    with pytest.raises(ValueError, match="must be on or off"):
        cds_settings({"TRIAGE_CDS_VERIFY_JWT": "maybe"})


def test_make_run_turns_verification_off_and_says_so() -> None:
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    run = makefile[makefile.index("\nrun:"):].split("\n\n")[0]
    assert "TRIAGE_CDS_VERIFY_JWT=off" in run and "verification is OFF" in run
