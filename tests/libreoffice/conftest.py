"""The LibreOffice tests share one running LibreOffice (see :mod:`tests.libreoffice.office`);
without LibreOffice or Python-UNO they skip, saying how to install them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.libreoffice.office import Office, missing


@pytest.fixture(scope="session")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    reason = missing()
    if reason:
        pytest.skip(reason)
    running = Office(tmp_path_factory.mktemp("libreoffice")).start()
    try:
        yield running
    finally:
        running.close()
