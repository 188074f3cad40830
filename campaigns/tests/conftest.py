import os

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # The `world` fixture makes a user per role; the default hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Debian's Chromium: Playwright cannot download its own build here (docs/STACK.md).
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
    }


@pytest.fixture
def plain_static_files(settings):
    # DEBUG is off in tests, and the manifest storage needs `collectstatic` before any page renders.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live server, started with the HTTPS redirect off.

    SecurityMiddleware reads SECURE_SSL_REDIRECT once, when the server thread loads the
    middleware, which is before any function-scoped `settings` override could apply.
    """
    from django.conf import settings
    from pytest_django.live_server_helper import LiveServer

    redirect = settings.SECURE_SSL_REDIRECT
    settings.SECURE_SSL_REDIRECT = False
    try:
        server = LiveServer(os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost")
    finally:
        settings.SECURE_SSL_REDIRECT = redirect
    request.addfinalizer(server.stop)
    return server
