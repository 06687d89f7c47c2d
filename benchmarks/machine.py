"""The machine a benchmark runs on: what it is, how busy it was, and where its cores went."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_averages() -> str:
    """The load averages, because other processes on a shared machine slow every figure down."""
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by the service's processes, the database, nginx and this client, and the machine's
    idle time: the difference of two readings says where the cores went."""
    tick = os.sysconf("SC_CLK_TCK")
    used = dict.fromkeys(("gunicorn", "postgres", "nginx", "client", "other"), 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if int(entry.name) == os.getpid():
            kind = "client"
        elif "gunicorn" in command:
            kind = "gunicorn"
        elif "postgres" in command.split(" ", 1)[0]:
            kind = "postgres"
        elif command.startswith("nginx"):
            kind = "nginx"
        else:
            kind = "other"
        used[kind] += seconds
    used["idle"] = int(Path("/proc/stat").read_text().split()[4]) / tick
    return used


def cpu_used(start: dict[str, float], end: dict[str, float]) -> str:
    """Two readings of cpu_seconds as one line: seconds per kind of process in between."""
    return ", ".join(f"{kind} {end[kind] - start[kind]:.1f} s" for kind in start)
