"""The import contract: reading stages flow one way and only the interfaces import the reader.

The contracts live in ``pyproject.toml`` ([tool.importlinter]); ``lint-imports`` checks them on the
real import graph (function-level imports included).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lint(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--config", str(config), "--no-cache", "--no-logo"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_import_contracts_hold():
    out = _lint(ROOT / "pyproject.toml")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "2 kept, 0 broken" in out.stdout


def test_a_stage_importing_a_later_one_breaks_the_contract(tmp_path):
    """The contract can fail: the same layers over a copy of the package where ink imports normalize."""
    import shutil

    copy = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "handwritten_digits", copy / "handwritten_digits",
                    ignore=shutil.ignore_patterns("assets", "static", "__pycache__"))
    ink = copy / "handwritten_digits" / "reading" / "ink.py"
    ink.write_text(ink.read_text() + "\nfrom handwritten_digits.reading import normalize  # noqa\n")
    config = tmp_path / "contracts.toml"
    config.write_text((ROOT / "pyproject.toml").read_text().split("# The reading pipeline flows one way")[1]
                      .split("\n", 1)[1])
    out = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--config", str(config), "--no-cache", "--no-logo"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"})
    assert out.returncode != 0
    assert "handwritten_digits.reading.ink -> handwritten_digits.reading.normalize" in out.stdout
