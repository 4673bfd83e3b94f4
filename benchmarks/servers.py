"""Servers under test for the load, reliability and worst-case benchmarks: each started in a process group of
its own, waited for, stopped whole, its CPU read from /proc; a free port; the header of a report and the
processor's name in it."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def cpu_model() -> str | None:
    """The processor's name: throughput moves with it (int8 most, on chips without VNNI), so it is recorded."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
    except OSError:
        return None


def report_header(name: str, argv: list[str] | None) -> dict:
    """The first keys of a server benchmark's report: its name, the command line and the machine as it was."""
    return {
        "benchmark": name,
        "command": f"python -m benchmarks.{name} " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "cpu": cpu_model(), "platform": platform.platform(),
                    "python": platform.python_version(), "nice": os.nice(0),
                    "loadavg_before": [round(v, 2) for v in os.getloadavg()]},
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], url: str, timeout: float = 90) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[0:4]} exited: {proc.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return proc
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP error status still means it is up
                return proc
        time.sleep(0.25)
    stop(proc)
    raise RuntimeError(f"{cmd[0:4]} did not start within {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and its uvicorn workers: a group we created
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every process in the group (the server and its workers), from /proc."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state ppid pgrp ... utime(11) stime(12)
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")
