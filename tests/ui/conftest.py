"""The browser the UI tests drive: Debian chromium through playwright, one per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import CHROMIUM, FLAGS, open_chat


@pytest.fixture(scope="module")
def browser() -> Iterator:  # noqa: ANN201
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url: str):  # noqa: ANN001, ANN201
    """A page on the module's app (its `app_url` fixture), once the question box is there."""
    yield from open_chat(browser, app_url)
