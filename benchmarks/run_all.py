"""Run every benchmark (or a named subset), then rewrite the README's results section.

Each benchmark is ``benchmarks/bench_NAME.py``, run as its own process (``python -m
benchmarks.bench_NAME [--quick]``) so that one crashing or running out of memory does not take the
others down. Results land in ``benchmarks/results/NAME.json``; :mod:`benchmarks.readme` then
rebuilds the README section between ``<!-- results:start -->`` and ``<!-- results:end -->``.

    python -m benchmarks.run_all                    # everything (long: trains every model)
    python -m benchmarks.run_all classic load       # a subset, by name
    python -m benchmarks.run_all --quick            # smoke runs of everything
    python -m benchmarks.run_all --readme-only      # just rewrite the README from the results files
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ORDER = ["data", "classic", "cnn", "realimage", "load"]  # cheap and independent first; load last


def available() -> list[str]:
    """Benchmark names found as ``benchmarks/bench_*.py``, in running order."""
    names = sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))
    return [n for n in ORDER if n in names] + [n for n in names if n not in ORDER]


def run_benchmark(name: str, quick: bool, extra: list[str]) -> tuple[int, float]:
    cmd = [sys.executable, "-m", f"benchmarks.bench_{name}", *(["--quick"] if quick else []), *extra]
    print(f"== {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    began = time.perf_counter()
    try:
        code = subprocess.run(cmd, cwd=ROOT).returncode
    except KeyboardInterrupt:
        code = 130
    return code, time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    found = available()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run (default: all of {', '.join(found)})")
    p.add_argument("--quick", action="store_true", help="pass --quick to each benchmark: smoke runs on small subsets")
    p.add_argument("--readme-only", action="store_true", help="run nothing; only rewrite the README from the results files")
    p.add_argument("--readme", default=str(ROOT / "README.md"), help="README whose results section is rewritten")
    p.add_argument("--results", default=str(HERE / "results"), help="folder of results JSON files the README is built from")
    p.add_argument("--no-readme", action="store_true", help="run the benchmarks but leave the README alone")
    args = p.parse_args(argv)
    unknown = [n.removeprefix("bench_") for n in args.names if n.removeprefix("bench_") not in found]
    if unknown:
        print(f"run_all: unknown benchmark(s) {', '.join(unknown)} (have: {', '.join(found)})", file=sys.stderr)
        return 2
    failed = []
    if not args.readme_only:
        names = [n.removeprefix("bench_") for n in args.names] or found
        summary = []
        for name in names:
            code, seconds = run_benchmark(name, args.quick, [])
            summary.append(f"  {name:<12} {'ok' if code == 0 else f'FAILED (exit {code})':<16} {seconds:7.1f} s")
            if code:
                failed.append(name)
            if code == 130:
                print("run_all: interrupted", file=sys.stderr)
                break
        print("benchmarks:\n" + "\n".join(summary), file=sys.stderr)
    if not args.no_readme:
        from benchmarks.readme import update_readme

        changed = update_readme(Path(args.readme), Path(args.results))
        print(f"{args.readme}: results section {'updated' if changed else 'already up to date'}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
