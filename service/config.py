"""The service's settings: their defaults, and the check that refuses a bad value at start-up.

Settings are Flask config keys, given to :func:`service.create_app` as a mapping (tests) or
built by ``triage serve`` from its options and environment. They are checked once, when the
app is made, so that a typo fails loudly at start-up rather than at the first request.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    # where the workbooks are; every file engine.load reads (.xlsx, .ods, .dmn, Camunda's
    # .dmn11.xml) is served, and one it refuses (.xlsm with macros, ...) listed as failed
    "TABLES_DIR": "decision_tables",
    # SQLAlchemy URL of the audit database; None = SQLite file in the instance folder
    "DATABASE_URL": None,
    "AUDIT_TABLE": "evaluations",
    # seconds an audit write (or any database statement) may take before the request is
    # answered 503; and how often the database is checked (reconnect, recreate the schema)
    "AUDIT_WRITE_TIMEOUT": 2.0,
    "DATABASE_CHECK_INTERVAL": 1.0,
    # the version store's tables are <prefix>_versions and <prefix>_heads, in the same
    # database; every worker and instance reads the heads every STORE_SYNC_INTERVAL seconds
    "STORE_PREFIX": "triage",
    "STORE_SYNC_INTERVAL": 1.0,
    # bearer tokens; ADMIN_TOKEN None disables the admin endpoints, API_TOKEN None leaves
    # evaluation and the table listing open
    "ADMIN_TOKEN": None,
    "API_TOKEN": None,
    # request limits
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "MAX_BATCH": 100,
    "MAX_FACTS": 200,  # fields in one case's facts, known or not
    "MAX_AUDIT_LIMIT": 1000,
    # how many other versions of a table stay compiled for pinning with "version" (any
    # version in the version store can be pinned; one not held is loaded from there)
    "KEEP_PREVIOUS_VERSIONS": 2,
    # the polling watcher; a change must be seen unchanged on two polls before it is loaded
    "WATCH": True,
    "WATCH_INTERVAL": 0.25,
    # a file whose change asks every worker process to reload (written by /v1/admin/reload)
    "RELOAD_SIGNAL_FILE": None,
    # the validator's errors block a reload; False gates on loading and vignettes only
    "GATE_WITH_VALIDATOR": True,
    # serve only workbooks that pass `triage validate --release`; others stay "failed" with
    # the reasons. Off, drafts serve, and every answer says "released": false
    "RELEASE_ONLY": False,
    # one JSON log line per request
    "LOG_REQUESTS": True,
    # a worker asks to be replaced after compiling this many workbook versions (0: never),
    # with ON_RECYCLE (set by ``triage serve``: a graceful SIGTERM to the worker itself);
    # a safety net for memory durable-rules' C core does not give back (engine/evaluator.py)
    "RECYCLE_AFTER_LOADS": 0,
    "ON_RECYCLE": None,
    # the service's URL as EHRs call it (https://triage.example.org): the questionnaires'
    # canonical URLs, the audience CDS clients' JWTs must name, links on cards. None: the
    # URL each request came in on
    "PUBLIC_URL": None,
    # CDS Hooks (docs/ehr.md): the clients' JWTs are verified unless this is False, a
    # development setting (`make run`); trusted issuers map each issuer to its keys,
    # {"iss": {"jwks_file": path} or {"jku": [allowed URLs]}}, or name a JSON file of that
    "CDS_VERIFY_JWT": True,
    "CDS_TRUSTED_ISSUERS": {},
    "CDS_JWT_ALGORITHMS": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                           "ES256", "ES384", "ES512"),
    # seconds a read from an EHR's FHIR server (or a jku) may take
    "CDS_FHIR_TIMEOUT": 5.0,
}

_POSITIVE_INTS = ("MAX_CONTENT_LENGTH", "MAX_BATCH", "MAX_FACTS", "MAX_AUDIT_LIMIT")


class ConfigError(ValueError):
    """A setting has a value the service cannot run with."""


def settings(given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The defaults overlaid with ``given``, checked. Raises :class:`ConfigError`."""
    values = dict(DEFAULTS)
    values.update(given or {})
    for key in _POSITIVE_INTS:
        if not isinstance(values[key], int) or isinstance(values[key], bool) or values[key] < 1:
            raise ConfigError(f"{key} must be a positive whole number, not {values[key]!r}")
    if values["RELEASE_ONLY"] and not values["GATE_WITH_VALIDATOR"]:
        raise ConfigError("RELEASE_ONLY needs GATE_WITH_VALIDATOR: without the validator no "
                          "table can be shown to pass the release checks")
    recycle = values["RECYCLE_AFTER_LOADS"]
    if not isinstance(recycle, int) or isinstance(recycle, bool) or recycle < 0:
        raise ConfigError(f"RECYCLE_AFTER_LOADS must be 0 or more, not {recycle!r}")
    keep = values["KEEP_PREVIOUS_VERSIONS"]
    if not isinstance(keep, int) or isinstance(keep, bool) or keep < 0:
        raise ConfigError(f"KEEP_PREVIOUS_VERSIONS must be 0 or more, not {keep!r}")
    for key, low, high in (("WATCH_INTERVAL", 0.01, 60), ("AUDIT_WRITE_TIMEOUT", 0.05, 30),
                           ("DATABASE_CHECK_INTERVAL", 0.05, 60),
                           ("STORE_SYNC_INTERVAL", 0.05, 600)):
        interval = values[key]
        if (not isinstance(interval, int | float) or isinstance(interval, bool)
                or not low <= interval <= high):
            raise ConfigError(f"{key} must be between {low} and {high} seconds, "
                              f"not {interval!r}")
    prefix = values["STORE_PREFIX"]
    if not isinstance(prefix, str) or not prefix.isidentifier() or len(prefix) > 40:
        raise ConfigError(f"STORE_PREFIX must be a plain name such as 'triage', not {prefix!r}")
    for key in ("ADMIN_TOKEN", "API_TOKEN"):
        token = values[key]
        if token is not None and (not isinstance(token, str) or len(token) < 8):
            raise ConfigError(f"{key} must be a string of at least 8 characters")
    _check_cds(values)
    values["TABLES_DIR"] = str(Path(values["TABLES_DIR"]))
    return values


def _check_cds(values: dict[str, Any]) -> None:
    from service.cds.security import IssuerConfigError, check_algorithms, load_issuers

    url = values["PUBLIC_URL"]
    if url is not None and (not isinstance(url, str)
                            or not url.startswith(("http://", "https://"))):
        raise ConfigError(f"PUBLIC_URL must be an http(s) URL, not {url!r}")
    if not isinstance(values["CDS_VERIFY_JWT"], bool):
        raise ConfigError("CDS_VERIFY_JWT must be true or false")
    timeout = values["CDS_FHIR_TIMEOUT"]
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) \
            or not 0.1 <= timeout <= 60:
        raise ConfigError(f"CDS_FHIR_TIMEOUT must be between 0.1 and 60 seconds, not {timeout!r}")
    try:
        check_algorithms(values["CDS_JWT_ALGORITHMS"])
        load_issuers(values["CDS_TRUSTED_ISSUERS"])
    except IssuerConfigError as error:
        raise ConfigError(str(error)) from error
