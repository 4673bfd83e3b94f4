"""Fetch MNIST from public mirrors: progress bar, atomic writes, SHA-256 of the decompressed bytes checked."""

from __future__ import annotations

import gzip
import http.client
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from handwritten_digits.errors import DigitsError
from handwritten_digits.fileio import atomic_write_bytes, sha256_bytes

MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
]
# SHA-256 of each file's decompressed bytes: the same whichever mirror or compression served it
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def mirrors() -> list[str]:
    """$DIGITS_MNIST_MIRRORS (space-separated base URLs) or the public mirrors."""
    env = os.environ.get("DIGITS_MNIST_MIRRORS")
    return env.split() if env else MIRRORS


def fetch(url: str, timeout: float = 30.0) -> bytes:
    """The whole body of ``url`` with a progress bar; a short body is an error."""
    from tqdm import tqdm

    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        chunks = []
        with tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1], file=sys.stderr, leave=False) as bar:
            while chunk := response.read(1 << 16):
                chunks.append(chunk)
                bar.update(len(chunk))
    body = b"".join(chunks)
    if total is not None and len(body) != total:
        raise OSError(f"connection dropped after {len(body)} of {total} bytes")
    return body


def download_file(stem: str, folder: Path, expected: str, bases: list[str] | None = None) -> Path:
    """Download ``stem``.gz into ``folder`` from the first mirror whose copy verifies."""
    problems = []
    for base in bases or mirrors():
        url = base.rstrip("/") + f"/{stem}.gz"
        try:
            body = fetch(url)
            raw = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
        except (OSError, EOFError, http.client.HTTPException, urllib.error.URLError, ValueError) as exc:
            problems.append(f"{url}: {getattr(exc, 'reason', exc)}")
            continue
        digest = sha256_bytes(raw)
        if digest != expected:
            problems.append(f"{url}: checksum mismatch (got {digest[:12]}…, expected {expected[:12]}…)")
            continue
        return atomic_write_bytes(folder / f"{stem}.gz", body if body[:2] == b"\x1f\x8b" else gzip.compress(raw, mtime=0))
    raise DigitsError(f"could not download {stem}: " + "; ".join(problems))


def download_mnist(folder: str | Path, checksums: dict[str, str] | None = None, bases: list[str] | None = None) -> Path:
    """Fetch the four MNIST files into ``folder`` (skipping files already there and verified)."""
    from handwritten_digits.data.idx import read_bytes

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for stem, expected in (checksums or SHA256).items():
        existing = folder / f"{stem}.gz"
        if existing.exists() and sha256_bytes(read_bytes(existing)) == expected:
            continue
        download_file(stem, folder, expected, bases)
    return folder
