"""ASGI entry point (e.g. uvicorn config.asgi:application); the same thread settings as config/wsgi.py."""

import os

from config.web_threads import configure_web_threads

configure_web_threads()

from django.core.asgi import get_asgi_application  # noqa: E402 - after the thread settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()

from config.host_local import log_host_local_parts  # noqa: E402 - needs the settings loaded

log_host_local_parts("web")
