import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Sessions, CSRF tokens and password resets are signed with the key: never serve on the
# placeholder in production.
if not settings.DEBUG and settings.SECRET_KEY == settings.PLACEHOLDER_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
