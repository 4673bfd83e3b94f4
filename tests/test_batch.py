"""Batch reading: the same records, in input order, in one process, a process pool, Dask and the CLI."""

from __future__ import annotations

import io
import json
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from functools import partial

import numpy as np
import pytest
from PIL import Image

from handwritten_digits.batch import _jobs, read_file, read_files
from handwritten_digits.cli import main
from handwritten_digits.reading.reader import ReaderSpec

SPEC = ReaderSpec("default", threads=1)


@pytest.fixture(scope="module")
def digit_folder(tmp_path_factory, data_dir):
    """12 PNGs from MNIST validation digits, upscaled: 9 singles, 2 two-digit numbers, 1 broken file."""
    from handwritten_digits.data import load_dataset

    images, labels = load_dataset("val", data_dir)
    folder = tmp_path_factory.mktemp("scans")

    def paper(image28: np.ndarray, side: int = 84) -> Image.Image:  # dark pen on light paper, 3x larger
        return Image.fromarray(((1 - image28) * 255).astype(np.uint8)).resize((side, side), Image.BICUBIC)

    for i in range(9):
        paper(images[i]).save(folder / f"{i:02d}-{labels[i]}.png")
    for k, (a, b) in enumerate([(9, 10), (11, 12)]):
        sheet = Image.new("L", (200, 100), 255)
        sheet.paste(paper(images[a]), (10, 8))
        sheet.paste(paper(images[b]), (106, 8))
        sheet.save(folder / f"{9 + k:02d}-{labels[a]}{labels[b]}.png")
    (folder / "11-broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return folder


def _paths(folder) -> list[str]:
    return sorted(str(p) for p in folder.iterdir())


def test_sequential_records(digit_folder):
    records = [read_file(SPEC, p) for p in _paths(digit_folder)]
    assert [r["path"] for r in records] == _paths(digit_folder)
    *good, bad = records
    assert set(bad) == {"path", "error"} and bad["error"].startswith(bad["path"] + ": ")
    for r in good:
        assert set(r) == {"path", "text", "digits", "lines", "marks", "limits"}
        json.dumps(r)  # plain JSON
    # the labels are in the names; a small model may miss one, not most
    assert sum(r["text"] == r["path"].rsplit("-", 1)[1][:-4] for r in good) >= 10


def test_process_pool_gives_the_same_records_in_order(digit_folder):
    paths = _paths(digit_folder)
    expected = [read_file(SPEC, p) for p in paths]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        assert list(pool.map(partial(read_file, SPEC), paths, chunksize=3)) == expected


def test_read_files_in_order_with_stdin_read_here(digit_folder, monkeypatch):
    paths = _paths(digit_folder)
    expected = [read_file(SPEC, p) for p in paths]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(open(paths[2], "rb").read())))
    records = list(read_files(paths[:5] + ["-"] + paths[5:], SPEC, workers=2, chunksize=2))
    assert records[:5] + records[6:] == expected
    assert records[5] == {**expected[2], "path": "-"}


def test_read_files_can_send_the_inputs_back(digit_folder):
    paths = _paths(digit_folder)[9:11]  # the two numbers
    records = list(read_files(paths, SPEC, workers=2, with_inputs=True))
    for r in records:
        assert len(r["inputs"]) == len(r["digits"]) == 2
        assert all(x.shape == (28, 28) and x.dtype == np.uint8 for x in r["inputs"])


@pytest.mark.slow  # about 5 s: a local scheduler and two worker processes start
def test_dask_distributed_gives_the_same_records_in_order(digit_folder):
    distributed = pytest.importorskip("distributed")
    paths = _paths(digit_folder)
    expected = [read_file(SPEC, p) for p in paths]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            futures = client.map(read_file, [SPEC] * len(paths), paths, pure=False)
            assert client.gather(futures) == expected


def test_cli_workers_give_the_same_output(digit_folder, capsys):
    assert main(["predict", "--json", "--workers", "1", str(digit_folder)]) == 1  # the broken file
    one = capsys.readouterr()
    assert main(["predict", "--json", "--workers", "2", str(digit_folder)]) == 1
    two = capsys.readouterr()
    assert two.out == one.out and two.err == one.err
    lines = [json.loads(line) for line in two.out.splitlines()]
    assert [r["path"] for r in lines] == _paths(digit_folder)
    assert "error" in lines[-1] and two.err.count("\n") == 1


def test_chunks_keep_stdin_alone():
    assert list(_jobs(iter(["a", "b", "c", "-", "d"]), 2)) == [["a", "b"], ["c"], ["-"], ["d"]]
    assert list(_jobs(iter([]), 2)) == []
