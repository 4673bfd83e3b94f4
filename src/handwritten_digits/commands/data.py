"""``digits data``: where MNIST is and whether it verifies; ``--download`` fetches it."""

from __future__ import annotations

HELP = "Show where MNIST is and verify its checksums; --download fetches it into the user cache."


def add_arguments(p) -> None:
    p.add_argument("--data-dir", default=None, help="MNIST folder (default: $DIGITS_DATA_DIR, then ~/.cache/handwritten-digits/mnist)")
    p.add_argument("--download", action="store_true", help="download missing files from the public mirrors (into --data-dir or the user cache)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    import json
    import os
    from pathlib import Path

    from handwritten_digits.data import idx
    from handwritten_digits.data.download import SHA256, download_mnist
    from handwritten_digits.data.mnist import CACHE, FILES, _find, locate_mnist
    from handwritten_digits.errors import DigitsError
    from handwritten_digits.fileio import sha256_bytes

    if args.download:
        download_mnist(Path(args.data_dir or os.environ.get("DIGITS_DATA_DIR") or CACHE))
    folder = locate_mnist(args.data_dir)
    files, ok = [], True
    for split, stems in FILES.items():
        for stem in stems:
            path = _find(folder, stem)
            try:
                raw = idx.read_bytes(path)
                array = idx.parse(raw, str(path))
                verified = sha256_bytes(raw) == SHA256[stem]
                entry = {"file": str(path), "split": split, "shape": list(array.shape), "bytes": path.stat().st_size, "verified": verified}
            except DigitsError as exc:
                verified, entry = False, {"file": str(path), "split": split, "error": str(exc), "verified": False}
            ok &= verified
            files.append(entry)
    if args.json:
        print(json.dumps({"data_dir": str(folder), "verified": ok, "files": files}))
    else:
        print(f"MNIST in {folder}")
        for f in files:
            state = "ok" if f["verified"] else ("checksum MISMATCH" if "error" not in f else f["error"])
            size = f"{f['bytes'] / 1e6:.1f} MB" if "bytes" in f else ""
            count = f"{f['shape'][0]:,}" if "shape" in f else ""
            print(f"  {Path(f['file']).name:<28} {count:>7} {size:>9}  {state}")
    return 0 if ok else 1
