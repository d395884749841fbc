# Two entry points for a fresh clone: `make run` and `make test`.
# Everything is installed into .venv inside the checkout; nothing global is touched.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run evaluate test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet -e '.[spark]' || echo "pyspark could not be installed: the Spark tests will be skipped"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Serve decision_tables/ on http://127.0.0.1:8000 (audit trail in instance/audit.sqlite3).
run: $(STAMP)
	@echo "Serving decision_tables/ on http://127.0.0.1:8000 (Ctrl-C stops). API docs: http://127.0.0.1:8000/docs"
	@echo "Development setting: CDS Hooks JWT verification is OFF (TRIAGE_CDS_VERIFY_JWT=off); a deployment sets TRIAGE_CDS_ISSUERS instead (docs/ehr.md)"
	TRIAGE_CDS_VERIFY_JWT=off $(BIN)/triage serve --tables decision_tables

evaluate: $(STAMP)
	$(BIN)/triage evaluate decision_tables/muscle_twitching.xlsx --facts decision_tables/examples/muscle_twitching_case.json

# .ci/system-packages installs the Debian packages some tests need (LibreOffice, ...) when
# missing and run as root; otherwise those tests skip and say why.
test: $(STAMP)
	bash .ci/system-packages
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest; code=$$?; if [ $$code -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; exit $$code

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/service.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis instance
