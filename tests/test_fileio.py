"""Atomic writes: the whole file or the old one, never half; PNGs that are the same for the same figure."""

from __future__ import annotations

import os

import pytest

from handwritten_digits.fileio import atomic_write_bytes, atomic_write_png


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_write_replaces_the_file_whole_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "out.bin"
    atomic_write_bytes(path, b"first")
    atomic_write_bytes(path, b"second")
    assert path.read_bytes() == b"second"
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.bin"]
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "out.bin"
    atomic_write_bytes(path, b"old")
    with pytest.raises(TypeError):
        atomic_write_bytes(path, object())  # not bytes: the write fails half way
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]  # its temporary is gone


def test_the_same_figure_makes_the_same_png(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    a = atomic_write_png(fig, tmp_path / "a.png", dpi=50)
    b = atomic_write_png(fig, tmp_path / "b.png", dpi=50)
    plt.close(fig)
    assert a.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert a.read_bytes() == b.read_bytes()  # no version or time stamp
    assert b"Software" not in a.read_bytes()
