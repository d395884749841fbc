"""The HTTP service: triage decision tables as a JSON API.

``create_app(config)`` is the Flask application factory (see :mod:`service.app`);
``triage serve`` runs it under gunicorn (:mod:`service.serve`); ``check(path)`` is the
reload gate (:mod:`service.gate`). docs/service.md describes the endpoints, hot reload, the
audit trail and how the service is run.

The names are resolved on first use rather than imported here: ``triage serve`` must set
``PROMETHEUS_MULTIPROC_DIR`` before anything imports prometheus_client (it picks single- or
multi-process mode once, at import), and importing :mod:`service.serve` runs this file first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from service.app import create_app
    from service.gate import GateResult, check

__all__ = ["GateResult", "check", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from service.app import create_app

        return create_app
    if name in ("GateResult", "check"):
        from service import gate

        return getattr(gate, name)
    raise AttributeError(f"module 'service' has no attribute {name!r}")
