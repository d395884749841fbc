"""CDS Hooks 2.0: every served table as a CDS service an EHR calls from the chart.

::

    GET  /cds-services                      discovery: one service per table
    POST /cds-services/<id>                 a hook call -> {"cards": [...]}
    POST /cds-services/<id>/feedback        accepted / overridden cards, stored
    GET  /v1/tables/<id>/questionnaire      the FHIR Questionnaire the answers come from
    GET  /v1/admin/audit/overrides          override rate per rule (admin)

A hook call reads the facts from the QuestionnaireResponse the EHR prefetched (or fetches
it from the EHR's FHIR server), evaluates them through the same path as ``/evaluate`` —
same checks, same audit row, with the ``hookInstance`` — and answers one card. The modules:
``routes`` (the endpoints), ``facts`` (request -> facts), ``security`` (the client's JWT),
``fetch`` (the FHIR server), ``store`` (feedback and replayed-token tables).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

from service.audit import AuditLog
from service.cds.security import Verifier, check_algorithms, load_issuers
from service.cds.store import CdsStore
from service.database import Database

KEY = "triage.cds"
log = logging.getLogger("service.cds")


@dataclass
class CdsState:
    store: CdsStore
    verifier: Verifier | None  # None: verification off (development only)
    # (table id, version hash, base URL) -> the checked Questionnaire as JSON text
    questionnaires: dict[tuple[str, str, str], str] = field(default_factory=dict)


def attach(database: Database, audit: AuditLog, config: Mapping[str, Any]) -> CdsState:
    """The CDS tables and the JWT verifier; call before the database's first check so the
    tables are made with the rest of the schema."""
    store = CdsStore(database, audit, config["STORE_PREFIX"])
    verifier = None
    if config["CDS_VERIFY_JWT"]:
        verifier = Verifier(load_issuers(config["CDS_TRUSTED_ISSUERS"]),
                            check_algorithms(config["CDS_JWT_ALGORITHMS"]),
                            store.first_use, float(config["CDS_FHIR_TIMEOUT"]))
    return CdsState(store, verifier)


def register(app: Flask, cds: CdsState) -> None:
    from service.cds.routes import bp

    app.extensions[KEY] = cds
    app.register_blueprint(bp)
    if cds.verifier is None:
        log.warning("CDS Hooks JWT verification is OFF (development setting CDS_VERIFY_JWT "
                    "false, TRIAGE_CDS_VERIFY_JWT=off): any caller can call the CDS services; "
                    "never run a deployment like this")
    elif not app.config["PUBLIC_URL"]:
        log.warning("PUBLIC_URL is not set: the audience CDS clients' JWTs must name is taken "
                    "from each request's Host header; set TRIAGE_PUBLIC_URL in a deployment")


def cds_state() -> CdsState:
    found: CdsState = current_app.extensions[KEY]
    return found


__all__ = ["KEY", "CdsState", "attach", "cds_state", "register"]
