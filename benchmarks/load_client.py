"""The load generator: raw HTTP/1.1 keep-alive connections (no client library overhead), closed loops for
saturation and open loops at fixed rates (latency counted from when each request was due, so a stalled server
cannot hide its queue), run in a process of its own (:func:`run_client`)."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from collections import Counter

import numpy as np


class Connection:
    """One raw HTTP/1.1 connection; reconnects when the server closes (HTTP/1.0-style servers)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None
        self.reconnects = 0

    async def request(self, head: bytes, body: bytes) -> int:
        reused = self.writer is not None
        if not reused:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        try:
            self.writer.write(head + body)
            status_line = await self.reader.readline()
        except ConnectionResetError:
            status_line = b""
        if not status_line and reused:
            # the server closed this keep-alive connection while it sat idle (uvicorn: after 5 s):
            # what every HTTP client does, send again on a new connection
            self.close()
            self.reconnects += 1
            return await self.request(head, body)
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length, close = None, status_line.startswith(b"HTTP/1.0")
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection":
                close = value.strip().lower() == "close"
        if length is not None:
            await self.reader.readexactly(length)
        else:
            await self.reader.read()
            close = True
        if close:
            self.close()
        return status

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def request_heads(path: str, bodies: list[bytes]) -> list[bytes]:
    return [(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
             f"Content-Length: {len(b)}\r\n\r\n").encode() for b in bodies]


async def _closed_loop(host, port, path, bodies, connections, seconds, max_requests):
    heads = request_heads(path, bodies)
    latencies, kinds, conns = [], Counter(), []  # kinds: failed requests by status or exception
    stop = time.perf_counter() + seconds
    counter = iter(range(max_requests))

    async def worker(k):
        conn = Connection(host, port)
        conns.append(conn)
        while time.perf_counter() < stop and (i := next(counter, None)) is not None:
            t0 = time.perf_counter()
            try:
                status = await conn.request(heads[i % len(bodies)], bodies[i % len(bodies)])
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
                status = type(exc).__name__
                conn.close()
            if status == 200:
                latencies.append(time.perf_counter() - t0)
            else:
                kinds[str(status)] += 1
        conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(connections)))
    elapsed, failed = time.perf_counter() - t0, sum(kinds.values())
    return {"connections": connections, "seconds": round(elapsed, 2), "requests": len(latencies) + failed,
            "errors": failed, "error_kinds": dict(kinds), "reconnects": sum(c.reconnects for c in conns),
            "throughput_rps": round(len(latencies) / elapsed, 1), **_percentiles(latencies)}


async def _open_loop(host, port, path, bodies, rate, seconds, max_connections, drain=10.0):
    """Requests due every 1/rate s; latency from the due time. Idle connections are reused."""
    heads = request_heads(path, bodies)
    total = int(rate * seconds)
    idle: list[Connection] = []
    opened = 0
    latencies, late, kinds, conns = [], 0, Counter(), []
    pool_free = asyncio.Condition()

    async def one(i, due):
        nonlocal opened
        async with pool_free:
            while not idle and opened >= max_connections:
                await pool_free.wait()
            if idle:
                conn = idle.pop()
            else:
                conn, opened = Connection(host, port), opened + 1
                conns.append(conn)
        try:
            status = await asyncio.wait_for(conn.request(heads[i % len(bodies)], bodies[i % len(bodies)]), timeout=10)
        except (OSError, ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
            status = type(exc).__name__
            conn.close()
        if status == 200:
            latencies.append(time.perf_counter() - due)
        else:
            kinds[str(status)] += 1
        async with pool_free:
            idle.append(conn)
            pool_free.notify()

    start = time.perf_counter() + 0.05
    deadline = start + seconds + drain  # a server that falls behind cannot keep the run going
    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.005:
            late += 1  # the client itself fell behind schedule
        tasks.append(asyncio.ensure_future(one(i, due)))
    done, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.perf_counter()))
    for task in pending:
        task.cancel()
    elapsed = time.perf_counter() - start
    for conn in idle:
        conn.close()
    return {"rate_rps": rate, "seconds": round(elapsed, 2), "requests": total, "errors": sum(kinds.values()),
            "unfinished": len(pending), "achieved_rps": round(len(latencies) / elapsed, 1),
            "connections_used": opened, "client_late_sends": late, "error_kinds": dict(kinds),
            "reconnects": sum(c.reconnects for c in conns), **_percentiles(latencies)}


def _percentiles(latencies) -> dict:
    if not latencies:
        return {"p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None}
    ms = np.asarray(latencies) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p90_ms": round(float(np.percentile(ms, 90)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2), "max_ms": round(float(ms.max()), 2)}


def _client_main(plan: dict, queue) -> None:
    """Entry of the load-generator process: run the plan, send the results back."""
    try:
        began = time.process_time()
        results = asyncio.run(_run_plan(plan))
        if isinstance(results, dict) and results.get("requests"):  # the load generator's own share of the cores
            cpu = time.process_time() - began
            results["client_cpu_ms_per_request"] = round(cpu / (results["requests"] + results["warmup_requests"]) * 1000, 3)
        queue.put(results)
    except BaseException as exc:  # report, never hang the parent
        queue.put({"error": repr(exc)})


async def _run_plan(plan):
    host, port, path, bodies = plan["host"], plan["port"], plan["path"], plan["bodies"]
    if plan["phase"] == "saturation":
        warm = await _closed_loop(host, port, path, bodies, 4, plan["warmup"], 10_000)  # not reported
        out = await _closed_loop(host, port, path, bodies, plan["connections"], plan["seconds"], plan["max_requests"])
        return {**out, "warmup_requests": warm["requests"]}
    out = []
    for rate in plan["rates"]:
        if out and ("skipped" in out[-1] or out[-1]["achieved_rps"] < 0.8 * out[-1]["rate_rps"]):
            below = out[-1]["rate_rps"] if "skipped" not in out[-1] else out[-1]["skipped"].split()[-2]
            out.append({"rate_rps": rate, "skipped": f"server saturated below {float(below):.0f} req/s"})
            continue
        await asyncio.sleep(0.5)
        out.append(await _open_loop(host, port, path, bodies, rate, plan["rate_seconds"], plan["max_connections"]))
    return out


def run_client(plan: dict, timeout: float) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_client_main, args=(plan, queue), daemon=True)
    proc.start()
    try:
        return queue.get(timeout=timeout)
    except Exception:
        return {"error": f"load generator gave no result within {timeout:.0f} s"}
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
