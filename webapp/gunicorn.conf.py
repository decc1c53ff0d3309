"""gunicorn settings for ``make run`` (and production): ``gunicorn -c webapp/gunicorn.conf.py``.

gthread workers: ``SHOPFOCUS_WEB_WORKERS`` processes of ``SHOPFOCUS_WEB_THREADS`` threads each.
On PostgreSQL each worker process has a psycopg connection pool of at most as many connections
as it has threads (Django's ``pool`` option, set through ``SHOPFOCUS_DB_POOL_MAX``), so the
server never holds more than workers x threads connections however hard it is hit: requests
beyond that wait in gunicorn's backlog, not in the database."""

import multiprocessing
import os

workers = int(os.environ.get("SHOPFOCUS_WEB_WORKERS", min(4, max(2, multiprocessing.cpu_count()))))
threads = int(os.environ.get("SHOPFOCUS_WEB_THREADS", 4))
worker_class = "gthread"
bind = [os.environ.get("SHOPFOCUS_WEB_BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}")]
wsgi_app = "webapp.wsgi:application"
# Long uploads (a multi-GB recording on a slow line) must not be cut off; resumable uploads
# send it in pieces anyway.
timeout = int(os.environ.get("SHOPFOCUS_WEB_TIMEOUT_S", 300))
graceful_timeout = 30
keepalive = 5
accesslog = os.environ.get("SHOPFOCUS_WEB_ACCESS_LOG", "-") or None  # empty: no access log
errorlog = "-"
# Each worker imports the app after the fork, so each opens its own pool (a pool's sockets and
# threads must never cross a fork).
preload_app = False
os.environ.setdefault("SHOPFOCUS_DB_POOL_MAX", str(threads))
