"""The pages people read in a browser: ``GET /`` lists the tables being served and
``GET /tables/<table_id>`` lets a clinician try cases against one of them.

The pages hold no logic of their own: the form is generated from the Inputs sheet, and
every result is drawn by ``page.js`` from the JSON API (``POST /v1/tables/<id>/evaluate``),
so what the page shows is exactly what an integrator gets. Assets are served from this
package (nothing is fetched from the internet, and there is no build step). JSON clients
asking for ``/`` get the service's JSON index; the tables themselves stay at ``/v1/tables``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, url_for

from service.api import answering_version, slot_of, summaries
from service.auth import require_api
from service.database import DatabaseUnavailable
from service.errors import wants_html
from service.pages import view
from service.registry import LoadedTable, TableSlot, iso
from service.state import state

__all__ = ["bp"]

STATIC = Path(__file__).with_name("static")
ASSETS = {"page.js": "text/javascript", "page.css": "text/css"}

bp = Blueprint("pages", __name__, template_folder="templates")


@bp.get("/")
def index() -> Response:
    """Browsers get the list of tables; API clients the service's JSON index."""
    if not wants_html():
        return jsonify(service="triage decision tables", docs=url_for("ops.docs"),
                       openapi=url_for("ops.openapi_json"),
                       tables=url_for("tables.list_tables"))
    snapshot = state().registry.snapshot
    failed = [s.as_dict() for s in snapshot.files.values() if not s.ok and not s.missing]
    return _html(render_template("pages/index.html", tables=summaries(snapshot),
                                 failed=failed))


@bp.get("/tables/<table_id>")
def table_page(table_id: str) -> Response:
    """The try-a-case page of the serving version (a pinned version's grids are fetched
    by the script from :func:`table_grids` once that version has answered)."""
    slot = slot_of(table_id)  # 404: a friendly page for a browser (service.errors)
    loaded = slot.current
    model = loaded.model.model
    return _html(render_template(
        "pages/table.html",
        table=loaded,
        about=model.about,
        controls=view.controls(model, loaded.input_schema),
        grids=view.grids(model),
        serving=True,
        versions=_versions(slot),
        failure=_failure(loaded),
        data=view.page_data(model, loaded.table_id,
                            url_for("tables.evaluate", table_id=loaded.table_id),
                            url_for("pages.table_grids", table_id=loaded.table_id),
                            _tests_columns(loaded)),
    ))


@bp.get("/tables/<table_id>/grids")
def table_grids(table_id: str) -> Response:
    """The grids of the version that answered a pinned case, for the page's script to swap
    in: a pinned version's rows may differ from the serving version's, and highlighting
    them on the wrong rules would mislead. The version is found as the API finds it (from
    the version store when this worker does not hold it), so it needs the API's token."""
    require_api()
    version = request.args.get("version") or None
    loaded = answering_version(table_id, version)
    serving = loaded is slot_of(table_id).current
    response = _html(render_template("pages/grids.html", table=loaded, serving=serving,
                                     grids=view.grids(loaded.model.model)))
    if version:  # a version id is a hash of the workbook: its rules never change
        response.cache_control.private = True
        response.cache_control.max_age = 3600
    return response


@bp.get("/pages/page.js")
def script() -> Response:
    return _asset("page.js")


@bp.get("/pages/page.css")
def style() -> Response:
    return _asset("page.css")


def _asset(name: str) -> Response:
    """A small file from the package, with an ETag so a reload asks only whether it changed."""
    response = Response((STATIC / name).read_bytes(), mimetype=ASSETS[name])
    response.cache_control.no_cache = True  # revalidate: a new release shows at once
    response.add_etag()
    response.make_conditional(request)  # 304 when the browser's copy is current
    return response


def _html(page: str) -> Response:
    return Response(page, content_type="text/html; charset=utf-8")


def _versions(slot: TableSlot) -> list[dict[str, Any]]:
    """Every version that can be pinned: the ones this worker holds, then the version
    store's (when it answers), newest first, each once."""
    found = [{"version": t.version, "table_version": t.model.about.version,
              "accepted_at": iso(t.accepted_at), "serving": t is slot.current}
             for t in (slot.current, *slot.previous)]
    try:
        stored = state().store.history(slot.current.table_id)
    except DatabaseUnavailable:
        stored = []
    known = {v["version"] for v in found}
    found += [{"version": v["version"], "table_version": "", "accepted_at": v["accepted_at"],
               "serving": False} for v in stored if v["version"] not in known]
    return found


def _failure(loaded: LoadedTable) -> dict[str, Any] | None:
    """The last reload of the serving version's file, when it was refused."""
    status = state().registry.snapshot.files.get(loaded.source)
    if status is None or status.ok or status.missing:
        return None
    return status.as_dict()


def _tests_columns(loaded: LoadedTable) -> tuple[str, ...]:
    """The Tests sheet's headings of the file that holds the serving version, read once per
    content of the file."""
    registry = state().registry
    status = registry.snapshot.files.get(loaded.source)
    if status is None or status.version != loaded.version or status.signature is None:
        return ()
    return _columns_of(str(registry.folder / loaded.source), status.signature.sha256)


@functools.lru_cache(maxsize=32)
def _columns_of(path: str, sha256: str) -> tuple[str, ...]:
    del sha256  # part of the key only: a file saved again is read again
    return view.tests_columns(path)
