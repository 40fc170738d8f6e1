"""WSGI entry point (gunicorn config.wsgi).

Thread settings for web processes come first, before anything imports torch (config/web_threads.py).
"""

import os

from config.web_threads import configure_web_threads

configure_web_threads()

from django.core.wsgi import get_wsgi_application  # noqa: E402 - after the thread settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from config.host_local import log_host_local_parts  # noqa: E402 - needs the settings loaded

log_host_local_parts("web")
