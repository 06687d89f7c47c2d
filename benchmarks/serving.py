"""Serving as in docker/ for the benchmarks: gunicorn with docker/gunicorn.conf.py, nginx with docker/nginx.conf,
and a plain HTTP client that opens a connection per request, as a browser behind a proxy would.
"""

from __future__ import annotations

import http.client
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def request(port: int, method: str, path: str, *, cookies=None, form=None, timeout=120.0, written=None):
    """(status, headers, body) of one request on a connection of its own, as a browser behind a proxy sends it.

    `written`, a list, gets the moment the whole request had been handed to the network.
    """
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    headers = {"Host": f"{HOST}:{port}", "Connection": "close"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        if written is not None:
            written.append(time.time())
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def in_parallel(work, items, threads: int) -> None:
    pending = list(reversed(items))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not pending:
                    return
                item = pending.pop()
            work(item)

    pool = [threading.Thread(target=worker) for _ in range(min(threads, len(items)))]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    children.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return sorted(children)


def wait_until_up(port: int, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} stopped at start (exit {process.returncode}); see its log")
        try:
            if request(port, "GET", "/login/", timeout=5)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not answer within 90 s")


def start_gunicorn(workdir: Path, environment: dict[str, str]) -> tuple[subprocess.Popen, int, Path]:
    port = free_port()
    log = workdir / "gunicorn.log"
    environment = {**environment, "GUNICORN_BIND": f"{HOST}:{port}"}
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi", "--config", "docker/gunicorn.conf.py"],
        cwd=ROOT,
        env=environment,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    wait_until_up(port, process, "gunicorn")
    return process, port, log


def start_nginx(workdir: Path, upstream: int) -> tuple[subprocess.Popen, int]:
    """nginx with docker/nginx.conf, pointed at the local gunicorn instead of the web container."""
    port = free_port()
    config = (ROOT / "docker" / "nginx.conf").read_text()
    config = config.replace("server web:8000;", f"server {HOST}:{upstream};")
    config = config.replace("listen 8000;", f"listen {HOST}:{port};")
    config = config.replace("pid /tmp/nginx.pid;", f"pid {workdir}/nginx.pid;")
    config = config.replace("access_log /dev/stdout;", f"access_log {workdir}/nginx-access.log;")
    config = config.replace("error_log /dev/stderr warn;", f"error_log {workdir}/nginx-error.log warn;")
    config = config.replace("root /usr/share/nginx/html;", f"root {ROOT / 'docker'};")
    (workdir / "nginx.conf").write_text(config)
    process = subprocess.Popen(
        [shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(workdir), "-c", str(workdir / "nginx.conf")]
        + ["-e", str(workdir / "nginx-error.log"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "nginx-start.log").open("w"),
    )
    wait_until_up(port, process, "nginx")
    return process, port


def stop(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
