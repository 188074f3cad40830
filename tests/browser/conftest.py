"""Browser tests: Playwright driving Debian's Chromium against Django's live server."""

import os

import pytest
from django.conf import settings
from django.test.utils import override_settings


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # `playwright install` cannot download a browser here; Debian's package is used instead.
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session", autouse=True)
def _live_server_settings():
    """Settings the live server must have before it starts (its middleware reads them once).

    Tests run with DEBUG off: no HTTPS redirect for the plain-HTTP live server, and no manifest
    storage, which would need `collectstatic` before any page renders.
    """
    with override_settings(
        SECURE_SSL_REDIRECT=False,
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ):
        yield


@pytest.fixture
def page(page):
    page.set_default_timeout(15_000)
    return page
