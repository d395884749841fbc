"""The LibreOffice tests share one running LibreOffice (see :mod:`tests.libreoffice.office`),
started by the first test that needs it and quit after the last test of this package;
without LibreOffice or Python-UNO they skip, saying how to install them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.libreoffice.office import Office, missing


@pytest.fixture(scope="package")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    reason = missing()
    if reason:
        pytest.skip(reason)
    running = Office(tmp_path_factory.mktemp("libreoffice")).start()
    try:
        yield running
    finally:
        running.close()
