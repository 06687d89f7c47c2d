"""The moment a request arrived: the receipt instant of a submission (docs/rules.md, "The receipt instant")."""

from __future__ import annotations

import ipaddress
import time
from datetime import UTC, datetime

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

REQUEST_START_HEADER = "X-Request-Start"


def parse_request_start(value: str) -> float | None:
    """Seconds since the epoch from `t=1790838000.123` (nginx's $msec); milli- or microseconds are read as well."""
    value = value.strip().removeprefix("t=")
    try:
        seconds = float(value)
    except ValueError:
        return None
    # Some proxies write milliseconds or microseconds; today's instants are near 1.8e9 seconds.
    while seconds > 1e11:
        seconds /= 1000
    return seconds if seconds > 0 else None


class ArrivalMiddleware:
    """First in MIDDLEWARE: notes when the request arrived, before anything else spends time on it.

    Behind a proxy listed in REQUEST_START_PROXIES its X-Request-Start counts: the moment the request reached the
    proxy, however long it then waited for a worker (docker/nginx.conf). From any other address the header is
    ignored and the moment is taken here, when the request reached the application. An instant a proxy puts in
    the future of this server's clock is taken as now.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.proxies = [ipaddress.ip_network(address, strict=False) for address in settings.REQUEST_START_PROXIES]

    def __call__(self, request: HttpRequest):
        now = time.time()
        request.arrived_at = datetime.fromtimestamp(self._proxy_stamp(request, now) or now, tz=UTC)
        return self.get_response(request)

    def _proxy_stamp(self, request: HttpRequest, now: float) -> float | None:
        header = request.headers.get(REQUEST_START_HEADER)
        if not header or not self.proxies or not self._from_proxy(request.META.get("REMOTE_ADDR", "")):
            return None
        stamp = parse_request_start(header)
        return None if stamp is None else min(stamp, now)

    def _from_proxy(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.proxies)


def arrival_instant(request: HttpRequest) -> datetime:
    """When the request arrived; now for a request that did not pass ArrivalMiddleware."""
    return getattr(request, "arrived_at", None) or timezone.now()
