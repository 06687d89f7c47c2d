"""Container health check: exit 0 when the service is healthy (docs/operations.md, "Health").

    python docker/healthcheck.py            web: /health/ready answers 200 (database, migrations, Redis)
    python docker/healthcheck.py heartbeat  beat: the heartbeat that beat queues and a worker runs is recent

HEALTHCHECK_URL is where web answers: http://127.0.0.1:8000 inside the web container, http://web:8000 elsewhere.
"""

import json
import os
import sys
import urllib.error
import urllib.request

base = os.environ.get("HEALTHCHECK_URL", "http://127.0.0.1:8000").rstrip("/")
# Ask for a host the app accepts, so that the check does not fill the log with DisallowedHost errors.
host = os.environ.get("ALLOWED_HOSTS", "localhost").split(",")[0].strip().lstrip(".")
request = urllib.request.Request(
    f"{base}/health/ready", headers={"Host": host if host and host != "*" else "localhost"}
)
try:
    with urllib.request.urlopen(request, timeout=5) as response:
        status, body = response.status, response.read()
except urllib.error.HTTPError as error:
    status, body = error.code, error.read()
except OSError:
    sys.exit(1)

if sys.argv[1:] == ["heartbeat"]:
    try:
        healthy = json.loads(body)["checks"]["heartbeat"]["ok"] is True
    except (ValueError, KeyError, TypeError):
        healthy = False
else:
    healthy = status == 200
sys.exit(0 if healthy else 1)
