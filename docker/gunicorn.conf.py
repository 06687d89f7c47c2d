"""Gunicorn settings for the web container; each can be overridden with its GUNICORN_ environment variable."""

import gc
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# No access log: the application writes one JSON line per request (config/logs.py).
accesslog = None
errorlog = "-"
# Only the proxy in front (nginx, docker/nginx.conf) may tell gunicorn the client's scheme (X-Forwarded-Proto, from
# which Django knows a request came over HTTPS); set its addresses in FORWARDED_ALLOW_IPS. The container itself
# stays trusted, so that the health check (docker/healthcheck.py) is not redirected to HTTPS.
proxies = [address.strip() for address in os.environ.get("FORWARDED_ALLOW_IPS", "").split(",") if address.strip()]
forwarded_allow_ips = ",".join(["127.0.0.1", *(address for address in proxies if address != "127.0.0.1")])
# A worker takes a connection only when one of its threads is free for it. Requests then wait in the kernel's
# accept queue, which all workers share in the order of arrival, not in one worker's own queue behind slower
# requests; and a worker that dies takes at most its own threads' requests with it (docs/operations.md, "Opening
# day"). Keep-alive is nginx's part, towards the browsers.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", str(threads)))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "0"))
backlog = int(os.environ.get("GUNICORN_BACKLOG", "2048"))
# The application is loaded once, before the workers are forked: a worker that replaces one that died is ready at
# once, instead of importing everything again while requests wait for it. A new release needs a restart.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") == "1"


def _warm_up():
    """What a worker would otherwise do during its first requests, while they wait: import every view, read the
    translations, compile the main templates."""
    from django.db import connections
    from django.template.loader import get_template
    from django.urls import get_resolver
    from django.utils import translation

    get_resolver().resolve("/")
    for language in ("nl", "en"):
        with translation.override(language):
            translation.gettext("Submit")
    for name in ("base.html", "registration/login.html", "portal/home.html", "portal/tranche_detail.html"):
        get_template(name)
    # Nothing above needs the database; a connection opened anyway must not be shared by the forked workers.
    connections.close_all()
    # What is loaded now lives as long as the worker: left out of the garbage collector's full passes, which
    # otherwise walk all of it and stop the worker's threads for 150 ms or more, long enough for a submission
    # that arrived later to reach the tranche's lock first (docs/benchmarks.md, "Opening day").
    gc.freeze()


def when_ready(server):
    """With the application preloaded: warm up once, before the workers are forked, which then start warm, a
    worker that replaces one that died during an opening included (docs/operations.md, "Opening day")."""
    if server.cfg.preload_app:
        _warm_up()


def post_worker_init(worker):
    if not worker.cfg.preload_app:
        _warm_up()
