"""gunicorn's configuration for `make serve` (Procfile.prod).

The values are settings of aigc_site/settings.py (WEB_BIND, WEB_WORKERS, WEB_THREADS,
WEB_TIMEOUT), read from the environment like every other, so a malformed one stops the start
with the settings' own message.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aigc_site.settings")

from django.conf import settings  # noqa: E402 - needs the settings module named first

wsgi_app = "aigc_site.wsgi:application"
bind = [settings.WEB_BIND]
workers = settings.WEB_WORKERS
# Threads, not more processes: requests mostly wait on the database, S3 and the provider.
worker_class = "gthread"
threads = settings.WEB_THREADS
timeout = settings.WEB_TIMEOUT
# How long an idle connection is kept for the next request. gunicorn's 2 s is shorter than a
# person's pause between pages: bench/load.py (Locust, 200 people pausing 2-8 s) saw 16 of 9,753
# requests fail with "connection reset by peer", sent on a connection the server was closing at
# that moment. 75 s is nginx's default; idle connections wait in gthread's poller, not a thread.
keepalive = 75
accesslog = "-"
errorlog = "-"
# gunicorn's control socket sits at one path per user ($HOME/.gunicorn/gunicorn.ctl), shared by
# every gunicorn that user starts; nothing here uses it.
control_socket_disable = True
