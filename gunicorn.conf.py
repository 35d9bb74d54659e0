"""Production gunicorn settings, read by `gunicorn app:app` from the project folder.

Threads, not only processes: a request mostly waits on the database, and every process also
runs a push-delivery thread. Each setting can be overridden on the command line.
"""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Phones on a weak signal are slow to send: give them time, but not forever.
timeout = 30
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then, so a slow leak never reaches race day.
max_requests = 5000
max_requests_jitter = 500
accesslog = os.environ.get("ACCESS_LOG", "-") or None


def on_starting(server):
    """A real deployment does not start on a database that holds the demo accounts (their
    passwords are published): delete them, or run the local demo (RACEAPP_DEMO=1)."""
    from raceapp import create_app, refuse_demo_data_in_production

    refuse_demo_data_in_production(create_app())
