"""README section on reliability: fuzzed requests, malformed files, probes under the worst images, lost corrections.

Rendered from ``reliability.json`` (``python -m benchmarks.bench_reliability``); the probe figure in it is
taken from ``worst.json``. A file not yet measured says so.
"""

from __future__ import annotations

from benchmarks.readme import _missing, num, pct, usable

FILES = ("reliability",)


def _count(value) -> str:
    return "—" if value is None else f"{int(value):,}"


def _fuzz_row(res: dict) -> str:
    f = res.get("fuzz") or {}
    if not f or "error" in f:
        return "| fuzzed requests (schemathesis, live server) | " + ("failed to run" if f else "not measured") + " | — |"
    statuses = ", ".join(f"{k} {_count(v)}" for k, v in (f.get("statuses") or {}).items()) or "—"
    return (f"| fuzzed requests (schemathesis, all default checks, ≤{_count(f.get('max_examples_per_operation'))} "
            f"examples per operation and phase, {num(f.get('seconds'), 0, ' s')}) | {_count(f.get('requests'))} requests "
            f"({statuses}) | {_count(f.get('server_errors_5xx'))} server errors, {_count(f.get('check_failures'))} "
            f"check failures{_slips(f)} |")


def _slips(f: dict) -> str:
    n = f.get("schemathesis_slips_not_counted")
    return f" ({_count(n)} set aside: schemathesis's own slip, a blank integer field it calls valid)" if n else ""


def _files_rows(res: dict) -> list[str]:
    m = res.get("malformed_files") or {}
    if not m:
        return ["| malformed files through `digits predict --json` | not measured | — |"]
    undocumented = m.get("undocumented_exits")
    rows = [f"| malformed files through `digits predict --json` ({len(m.get('kinds') or {})} kinds, "
            f"{_count(m.get('batches'))} runs) | {_count(m.get('files'))} files: {_count(m.get('error_records'))} one-line "
            f"error records, {_count(m.get('readings'))} readings, {_count(m.get('files_without_record'))} without a record | "
            f"{_count(m.get('tracebacks'))} tracebacks, {_count(undocumented)} exit codes other than 0/1/2 |"]
    posted = m.get("posted") or {}
    if posted:
        statuses = ", ".join(f"{k} {_count(v)}" for k, v in (posted.get("statuses") or {}).items()) or "—"
        rows.append(f"| a sample of these files POSTed to `/api/v1/recognize` | {_count(posted.get('posted'))} requests "
                    f"({statuses}) | {_count(posted.get('server_errors_5xx'))} server errors |")
    return rows


def _probe_row(res: dict) -> str:
    p = res.get("probes") or {}
    busy = p.get("healthz_with_worst_in_flight") or {}
    if not busy:
        return "| `/healthz` with worst-case images in flight | not measured (`python -m benchmarks.bench_worst`) | — |"
    return (f"| `/healthz` with {_count(p.get('in_flight'))} clients posting worst-case images (from `worst.json`) | "
            f"{_count(busy.get('count'))} probes: p50 {num(busy.get('p50_ms'), 1, ' ms')}, p99 "
            f"{num(busy.get('p99_ms'), 1, ' ms')} | worst {num(busy.get('max_ms'), 1, ' ms')} |")


def _feedback_row(res: dict) -> str:
    fb = res.get("feedback_under_load") or {}
    if not fb:
        return "| corrections under load | not measured | — |"
    sent, acked = fb.get("sent"), fb.get("acknowledged_201")
    share = None if not sent or acked is None else acked / sent
    return (f"| {_count(sent)} corrections POSTed at once to `/api/v1/feedback` (≤{_count(fb.get('concurrency'))} in "
            f"flight, {num(fb.get('seconds'), 1, ' s')}) | {_count(acked)} acknowledged 201 ({pct(share, 1)}), "
            f"{_count(fb.get('rows_stored'))} rows in SQLite, integrity check {fb.get('integrity_check') or '—'} | "
            f"{_count(fb.get('lost'))} lost, {_count(fb.get('server_errors_5xx'))} server errors |")


def reliability_section(results: dict) -> str:
    res = usable(results, "reliability")
    if not res:
        return "Reliability: " + _missing("reliability")
    lines = ["| what | measured | failures |", "|---|---|---|", _fuzz_row(res), *_files_rows(res), _probe_row(res),
             _feedback_row(res)]
    tracebacks = res.get("server_stderr_tracebacks")
    quick = " **Quick smoke run**: indicative only." if res.get("quick") else ""
    alive = res.get("server_alive_after")
    tail = (f"\n\nThe server wrote {_count(tracebacks)} tracebacks to its log over the whole run and "
            f"{'was still up' if alive else 'had died' if alive is False else '—'} at the end.")
    return (f"Against a real `digits serve` on loopback, one results file (`benchmarks/results/reliability.json`, "
            f"`{str(res.get('command', 'python -m benchmarks.bench_reliability')).strip()}`).{quick}\n\n" + "\n".join(lines) + tail)
