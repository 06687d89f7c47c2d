"""Gunicorn settings for the web container; each can be overridden with its GUNICORN_ environment variable."""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
accesslog = "-"
errorlog = "-"
# Only the TLS proxy may tell gunicorn the client's scheme (X-Forwarded-Proto, from which Django knows a request
# came over HTTPS); set its addresses in FORWARDED_ALLOW_IPS. The container itself stays trusted, so that the
# health check (docker/healthcheck.py) is not redirected to HTTPS.
proxies = [address.strip() for address in os.environ.get("FORWARDED_ALLOW_IPS", "").split(",") if address.strip()]
forwarded_allow_ips = ",".join(["127.0.0.1", *(address for address in proxies if address != "127.0.0.1")])
