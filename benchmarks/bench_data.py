"""How long loading all 70,000 MNIST images (train + test) takes once the files are on disk.

Each run reads and parses the four IDX files afresh (the in-process cache is cleared) and converts
them to float32 as ``load_dataset`` does. Writes ``benchmarks/results/data.json``.

    python -m benchmarks.bench_data [--data-dir DIR] [--runs 5]
    python -m benchmarks.bench_data --quick      # 2 runs
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "data.json"


def load_all_once(data_dir) -> int:
    """Read train and test from disk (no in-process cache) as float32 in [0, 1]; the image count."""
    from handwritten_digits.data import mnist

    mnist._read_split.cache_clear()
    count = 0
    for split in ("train", "test"):
        images, labels = mnist.load_mnist(split, data_dir)
        images = np.divide(images, np.float32(255), dtype=np.float32)  # as load_dataset does
        count += len(images)
    return count


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: the usual location order)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs; the median is reported (default: 5)")
    parser.add_argument("--quick", action="store_true", help="2 runs (default: off)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"results JSON (default: {RESULTS})")
    args = parser.parse_args(argv)
    from handwritten_digits.data import locate_mnist
    from handwritten_digits.fileio import atomic_write_json

    folder = locate_mnist(args.data_dir)
    load_all_once(folder)  # warm the OS file cache: we measure loading, not the disk
    times, cpu, images = [], [], 0
    for _ in range(2 if args.quick else args.runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        images = load_all_once(folder)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    result = {
        "load_all_seconds": round(statistics.median(times), 4),
        "runs_seconds": [round(t, 4) for t in times],
        # CPU time of this process: what the load costs when the machine is shared (wall time is inflated)
        "load_all_cpu_seconds": round(statistics.median(cpu), 4),
        "images": images,
        "compressed": any(p.suffix == ".gz" for p in folder.iterdir()),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "load_average": round(os.getloadavg()[0], 2),
    }
    atomic_write_json(args.out, result)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
