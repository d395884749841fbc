"""schemathesis against /openapi.json, in process (WSGI): generated requests, valid and
invalid, for every operation; no answer may be a server error or break the document's
schemas (status codes, content types, bodies). ``TRIAGE_FUZZ_EXAMPLES`` sets the number of
examples per operation and mode (50 by default: the short form ``make test`` runs).

The operations are driven through schemathesis' strategies with Hypothesis directly (one
test per operation and mode) rather than its pytest plugin, which does not yet run under
pytest 9.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from tests.service.conftest import admin

EXAMPLES = int(os.environ.get("TRIAGE_FUZZ_EXAMPLES", "50"))

pytestmark = pytest.mark.load


def _operations(app: Flask) -> list[schemathesis.APIOperation]:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=lambda m: m.value)
def test_api_conforms_to_its_openapi_document(
    make_app: Callable[..., Flask], mode: schemathesis.GenerationMode
) -> None:
    app = make_app(MAX_BATCH=5)
    operations = _operations(app)
    # a negative case may be "the bearer token is missing": adding it back would turn it into
    # a valid request, so negative cases go without (the admin endpoints then answer 401)
    headers = admin() if mode is schemathesis.GenerationMode.POSITIVE else {}
    assert len(operations) >= 13
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers)

        try:
            run()
        except Unsatisfiable:
            assert mode is schemathesis.GenerationMode.NEGATIVE  # nothing to make invalid
        except Exception as error:
            raise AssertionError(f"{operation.label} ({mode.value}): {error}") from error
