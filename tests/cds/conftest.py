"""Fixtures for the CDS Hooks tests: the service tests' app factory, an app with JWT
verification on (an RSA key pair and its JWKS file as the trusted EHR's), and a token
maker."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask

from tests.service.conftest import (  # noqa: F401 - fixtures
    database_url,
    make_app,
    serve,
    tables_dir,
)

ISSUER = "https://ehr.example.org"
PUBLIC_URL = "https://triage.example.org"
SERVICE = "/cds-services/muscle_twitching"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks(key: rsa.RSAPrivateKey, kid: str = "ehr-key-1") -> dict[str, Any]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**public, "kid": kid, "use": "sig", "alg": "RS384"}]}


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="session")
def ehr_key() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture
def jwks_file(tmp_path: Path, ehr_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path / "ehr-jwks.json"
    path.write_text(json.dumps(jwks(ehr_key)))
    return path


@pytest.fixture
def token(ehr_key: rsa.RSAPrivateKey) -> Callable[..., str]:
    """``token(**claims)``: a client JWT as the CDS Hooks specification describes it (RS384,
    kid, typ JWT; iss, aud, exp five minutes after iat, jti), with ``claims`` replacing or
    (as None) removing any of them; ``key``, ``alg`` and ``headers`` change the signing."""

    def make(key: Any = None, alg: str = "RS384", headers: dict[str, Any] | None = None,
             **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "sub": "client-id", "aud": PUBLIC_URL + SERVICE,
                "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key if key is not None else ehr_key, algorithm=alg,
                          headers={"kid": "ehr-key-1", "typ": "JWT", **(headers or {})})

    return make


@pytest.fixture
def open_app(make_app: Callable[..., Flask]) -> Flask:  # noqa: F811
    """JWT verification off (the development setting), as `make run` serves."""
    return make_app(CDS_VERIFY_JWT=False)


@pytest.fixture
def secure_app(make_app: Callable[..., Flask], jwks_file: Path) -> Flask:  # noqa: F811
    return make_app(PUBLIC_URL=PUBLIC_URL,
                    CDS_TRUSTED_ISSUERS={ISSUER: {"jwks_file": str(jwks_file)}})


def bearer(text: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {text}"}
