"""The CDS Hooks client's JWT (CDS Hooks 2.0, "Trusting CDS Clients"), checked with PyJWT.

Every call of a service and every feedback carries ``Authorization: Bearer <JWT>``, signed
by the EHR. It is accepted only when all of these hold, and refused with a 401 that says
which did not:

* the header's ``alg`` is one of the allowed asymmetric algorithms (``CDS_JWT_ALGORITHMS``,
  by default RS/PS/ES 256-512): ``none`` and every HS algorithm are refused before any key is
  looked at, so a token cannot choose to be unsigned or to be checked as an HMAC keyed with
  the issuer's public key;
* ``iss`` is a trusted issuer (``CDS_TRUSTED_ISSUERS``), whose keys come from its JWKS file
  or from a ``jku`` URL on that issuer's allow-list (fetched with a time limit, cached);
* the signature verifies with the key the header's ``kid`` names;
* ``aud`` is the URL of the endpoint called (or the service's ``/cds-services``), as seen
  at ``PUBLIC_URL``; ``exp`` is in the future, ``iat`` not in the future, and the token
  lives at most :data:`MAX_LIFETIME` seconds (the specification: five minutes);
* ``jti`` has not been seen before from that issuer (kept in the database until the token
  expires, so a replay is refused on any worker).

Verification is off only when ``CDS_VERIFY_JWT`` is False, a development setting that
``make run`` uses and that the service logs at start.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jwt
from flask import request

from service.errors import ApiError

MAX_LIFETIME = 300  # seconds between iat and exp, at most
LEEWAY = 30  # seconds of clock difference allowed
DEFAULT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                      "ES256", "ES384", "ES512")
_CHALLENGE = 'Bearer realm="cds-hooks", error="invalid_token"'


class IssuerConfigError(ValueError):
    """The trusted issuers setting cannot be used."""


def load_issuers(setting: object) -> dict[str, dict[str, Any]]:
    """``CDS_TRUSTED_ISSUERS``: a mapping (or the path of a JSON file holding one) of issuer
    to ``{"jwks_file": path}`` and/or ``{"jku": [allowed URLs]}``; JWKS files are read now."""
    if isinstance(setting, str | Path):
        try:
            setting = json.loads(Path(setting).read_text("utf-8"))
        except (OSError, ValueError) as error:
            raise IssuerConfigError(f"CDS_TRUSTED_ISSUERS: cannot read {setting}: {error}") \
                from error
    if not isinstance(setting, Mapping):
        raise IssuerConfigError("CDS_TRUSTED_ISSUERS must map each issuer to its keys")
    issuers: dict[str, dict[str, Any]] = {}
    for issuer, given in setting.items():
        if not isinstance(given, Mapping) or not ({"jwks_file", "jwks", "jku"} & set(given)):
            raise IssuerConfigError(f"CDS_TRUSTED_ISSUERS: issuer {issuer!r} needs a "
                                    "'jwks_file' or a 'jku' list")
        entry: dict[str, Any] = {"jku": tuple(given.get("jku") or ())}
        keys = given.get("jwks")
        if "jwks_file" in given:
            try:
                keys = json.loads(Path(given["jwks_file"]).read_text("utf-8"))
            except (OSError, ValueError) as error:
                raise IssuerConfigError(f"CDS_TRUSTED_ISSUERS: issuer {issuer!r}: cannot "
                                        f"read {given['jwks_file']}: {error}") from error
        if keys is not None:
            try:
                entry["keys"] = jwt.PyJWKSet.from_dict(dict(keys))
            except jwt.PyJWTError as error:
                raise IssuerConfigError(f"CDS_TRUSTED_ISSUERS: issuer {issuer!r}: not a "
                                        f"JWKS: {error}") from error
        issuers[str(issuer)] = entry
    return issuers


def check_algorithms(algorithms: object) -> tuple[str, ...]:
    if isinstance(algorithms, str) or not isinstance(algorithms, list | tuple) or not algorithms:
        raise IssuerConfigError("CDS_JWT_ALGORITHMS must be a list of algorithm names")
    for name in algorithms:
        if not isinstance(name, str) or name.lower() == "none" or name.upper().startswith("HS") \
                or name not in DEFAULT_ALGORITHMS:
            raise IssuerConfigError(f"CDS_JWT_ALGORITHMS: {name!r} is not allowed; use "
                                    "asymmetric algorithms only: " + ", ".join(DEFAULT_ALGORITHMS))
    return tuple(algorithms)


class Verifier:
    """Checks client JWTs for one app. ``first_use(issuer, jti, expires)`` records a jti and
    says whether it is new."""

    def __init__(self, issuers: Mapping[str, dict[str, Any]], algorithms: tuple[str, ...],
                 first_use: Any, timeout: float) -> None:
        self.issuers = issuers
        self.algorithms = algorithms
        self.first_use = first_use
        self.timeout = timeout
        self._clients: dict[str, jwt.PyJWKClient] = {}
        self._lock = threading.Lock()

    def verify(self, audiences: list[str]) -> dict[str, Any]:
        """The verified claims of the request's token, or an ApiError 401."""
        token = _bearer()
        try:  # read once, unverified, to choose the key; verified below with that key
            parts = jwt.api_jwt.decode_complete(token, options={"verify_signature": False})
        except jwt.PyJWTError as error:
            raise _refused(f"the token is not a JWT: {error}") from error
        header, unverified = parts["header"], parts["payload"]
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise _refused(f"alg {alg!r} is not allowed; sign with one of "
                           + ", ".join(self.algorithms))
        issuer = unverified.get("iss")
        trusted = self.issuers.get(issuer) if isinstance(issuer, str) else None
        if trusted is None:
            raise _refused(f"issuer {str(issuer)[:200]!r} is not a trusted CDS client")
        key = self._key(trusted, header)
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=[alg], audience=audiences, issuer=issuer,
                leeway=LEEWAY, options={"require": ["iss", "aud", "exp", "iat", "jti"]})
        except jwt.InvalidAudienceError as error:
            raise _refused(f"aud must be {audiences[0]}: {error}") from error
        except jwt.ExpiredSignatureError as error:
            raise _refused("the token has expired (exp)") from error
        except jwt.ImmatureSignatureError as error:
            raise _refused(f"the token is not valid yet: {error}") from error
        except jwt.InvalidSignatureError as error:
            raise _refused("the signature does not verify with the issuer's key") from error
        except jwt.PyJWTError as error:
            raise _refused(f"the token is not valid: {error}") from error
        if not isinstance(claims["exp"], int | float) or not isinstance(claims["iat"], int | float):
            raise _refused("exp and iat must be numbers")
        if claims["exp"] - claims["iat"] > MAX_LIFETIME:
            raise _refused(f"the token lives {int(claims['exp'] - claims['iat'])} s; at most "
                           f"{MAX_LIFETIME} s are accepted")
        expires = dt.datetime.fromtimestamp(claims["exp"] + LEEWAY, dt.UTC)
        if not self.first_use(issuer, str(claims["jti"])[:200], expires):
            raise _refused("the token was already used (jti replayed)")
        return claims

    def _key(self, trusted: Mapping[str, Any], header: Mapping[str, Any]) -> Any:
        kid = header.get("kid")
        jku = header.get("jku")
        if jku is not None:
            if jku not in trusted["jku"]:
                raise _refused(f"jku {str(jku)[:200]!r} is not on this issuer's allow-list")
            return self._from_url(str(jku), kid)
        keys: jwt.PyJWKSet | None = trusted.get("keys")
        if keys is None:
            if len(trusted["jku"]) != 1:
                raise _refused("the token names no jku, and this issuer has no JWKS file")
            return self._from_url(trusted["jku"][0], kid)
        candidates = [k for k in keys.keys if kid is None or k.key_id == kid]
        if len(candidates) != 1:
            raise _refused(f"no single key of the issuer has kid {kid!r}")
        return candidates[0].key

    def _from_url(self, url: str, kid: object) -> Any:
        with self._lock:
            client = self._clients.get(url)
            if client is None:
                client = jwt.PyJWKClient(url, cache_keys=True, lifespan=300,
                                         timeout=max(1, int(self.timeout)))
                self._clients[url] = client
        try:
            if kid is None:
                keys = client.get_signing_keys()
                if len(keys) != 1:
                    raise _refused("the token names no kid and the JWKS holds several keys")
                return keys[0].key
            return client.get_signing_key(str(kid)).key
        except jwt.PyJWKClientError as error:
            raise _refused(f"the issuer's keys cannot be read from {url}: {error}") from error


def _bearer() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized",
                       "send 'Authorization: Bearer <JWT>' signed by a trusted CDS client",
                       None, {"WWW-Authenticate": 'Bearer realm="cds-hooks"'})
    return token.strip()


def _refused(why: str) -> ApiError:
    return ApiError(401, "invalid_token", f"the CDS client's JWT is refused: {why}", None,
                    {"WWW-Authenticate": _CHALLENGE})


def audiences(base_url: str, service_path: str) -> list[str]:
    """The ``aud`` values accepted: the endpoint called, then the discovery URL."""
    return [base_url + service_path, base_url + "/cds-services"]
