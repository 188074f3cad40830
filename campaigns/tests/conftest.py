import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # The `world` fixture makes a user per role; the default hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
