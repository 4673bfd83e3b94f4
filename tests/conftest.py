"""Shared fixtures. MNIST comes from $DIGITS_DATA_DIR (CI: ../shared/data/mnist); tests never download."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"  # screenshots and reports kept after a run


def _data_dir() -> Path | None:
    env = os.environ.get("DIGITS_DATA_DIR")
    candidates = [Path(env)] if env else [ROOT.parent / "shared" / "data" / "mnist"]
    for path in candidates:
        if (path / "train-images-idx3-ubyte.gz").exists() or (path / "train-images-idx3-ubyte").exists():
            return path
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = _data_dir()
    if path is None:
        pytest.skip("MNIST not found: set DIGITS_DATA_DIR to the folder with the four IDX files")
    return path


@pytest.fixture(scope="session")
def external_dir(data_dir) -> Path:
    env = os.environ.get("DIGITS_EXTERNAL_DIR")
    path = Path(env) if env else data_dir.parent / "external"
    if not path.exists():
        pytest.skip("external datasets not found: set DIGITS_EXTERNAL_DIR")
    return path


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def mnist_test(data_dir):
    """MNIST's test digits and labels (only tests use them; nothing is tuned on them)."""
    from handwritten_digits.synthetic import mnist_test_digits

    return mnist_test_digits(data_dir)


@pytest.fixture(scope="session")
def reader():
    """A reader on the bundled default model, one thread."""
    from handwritten_digits.reading.reader import Reader

    return Reader.load(threads=1)
