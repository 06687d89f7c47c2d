"""Exit 0 when the web container answers HTTP with a status below 500."""

import os
import sys
import urllib.error
import urllib.request

# Ask for a host the app accepts, so that the check does not fill the log with DisallowedHost errors.
host = os.environ.get("ALLOWED_HOSTS", "localhost").split(",")[0].strip().lstrip(".")
request = urllib.request.Request(
    "http://127.0.0.1:8000/login/",
    # Behind the TLS proxy every request carries this; without it the app would redirect to https.
    headers={"Host": host if host and host != "*" else "localhost", "X-Forwarded-Proto": "https"},
)
try:
    with urllib.request.urlopen(request, timeout=5) as response:
        status = response.status
except urllib.error.HTTPError as error:
    status = error.code
except OSError:
    sys.exit(1)
sys.exit(0 if status < 500 else 1)
