"""Browser tests: Playwright driving Debian's Chromium (launch options in the root conftest)."""

import pytest


@pytest.fixture
def page(page):
    page.set_default_timeout(15_000)
    return page
