"""Reading many images on many cores or machines: small pieces any executor can map.

:func:`read_file` reads one image into a plain record and never raises for a bad image, so it can
be mapped by any executor that pickles a function and its arguments: a
:class:`concurrent.futures.ProcessPoolExecutor`, a Dask ``Client``, Ray, Spark. The reader travels
as a :class:`~handwritten_digits.reading.reader.ReaderSpec` (a few strings), and each process loads
the model once, on first use. :func:`read_files` is the local engine behind ``digits predict
--workers``: every core, results in input order.

>>> from functools import partial
>>> from concurrent.futures import ProcessPoolExecutor
>>> from handwritten_digits.batch import read_file, read_files
>>> from handwritten_digits.reading.reader import ReaderSpec
>>> spec = ReaderSpec("default", threads=1)
>>> records = list(read_files(["a.png", "b.jpg"], spec, workers=4))
>>> with ProcessPoolExecutor(4) as pool:                                      # the same, by hand
...     records = list(pool.map(partial(read_file, spec), ["a.png", "b.jpg"], chunksize=8))
"""

from __future__ import annotations

import os
from collections import deque
from typing import Iterable, Iterator

STDIN = "-"  # the path that stands for the image bytes on standard input


def cpu_count() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells it, else all)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # macOS and Windows have no sched_getaffinity
        return os.cpu_count() or 1


def read_file(spec, path: str, single: bool = False, min_confidence: float | None = None,
              with_inputs: bool = False) -> dict:
    """Read one image file into a record; a bad file gives an ``error`` record, never an exception.

    Parameters
    ----------
    spec : ReaderSpec
        The reader to use; loaded once per process (see :meth:`ReaderSpec.reader`).
    path : str
        An image file, or ``"-"`` for the image bytes on standard input (read in this process).
    single : bool
        Treat the whole image as one digit (no segmentation).
    min_confidence : float, optional
        Digits read less surely than this are marked rejected (``?`` in the text).
    with_inputs : bool
        Add ``"inputs"``: the 28x28 images the model saw, one uint8 array per digit (bright ink on
        black). Not JSON: take it out (``record.pop("inputs")``) before writing the record as JSON.

    Returns
    -------
    dict
        ``{"path", "text", "digits", "limits"}`` as ``digits predict --json`` prints it, or
        ``{"path", "error"}`` with a one-line message that starts with the path.

    Raises
    ------
    DigitsError
        Only when the reader itself cannot be loaded (a bad model): that is no file's fault, and
        every file would fail the same way.
    """
    reader = spec.reader()  # outside the try: a bad model stops the batch instead of failing every file
    try:
        if path == STDIN:
            import sys

            source = sys.stdin.buffer.read()
        else:
            source = path  # a folder, a missing or a special file: the decode stage says so in one line
        result = reader.read(source, min_confidence, single=single)
    except Exception as exc:  # DigitsError or anything unexpected: one bad file never stops the batch
        return error_record(path, exc)
    record = {"path": path, **result.to_dict()}
    if with_inputs:
        import numpy as np

        # uint8 here, not float32: a quarter of the bytes to send back, and exactly what gets saved
        record["inputs"] = [(np.clip(d.image, 0, 1) * 255).astype(np.uint8) for d in result.digits]
    return record


def error_record(path: str, exc: BaseException) -> dict:
    """The record of a file that could not be read: its path and a one-line message starting with it."""
    from handwritten_digits.errors import DigitsError

    text = str(exc) if isinstance(exc, DigitsError) else f"cannot process ({type(exc).__name__}: {exc})"
    text = " ".join(text.split())  # one line
    return {"path": path, "error": text if text.startswith(path) else f"{path}: {text}"}


def read_chunk(spec, paths: list[str], single: bool = False, min_confidence: float | None = None,
               with_inputs: bool = False) -> list[dict]:
    """:func:`read_file` on each of ``paths``: one task, one round trip, for many small images."""
    return [read_file(spec, p, single, min_confidence, with_inputs) for p in paths]


def init_worker() -> None:
    """Make a worker process use one core: run it first in each worker of a pool of ``cores`` workers.

    ONNX Runtime's threads come from the spec (``threads=1``); this caps the rest: OpenCV's thread
    pool, and OpenMP/BLAS when they are not loaded yet. It also leaves Ctrl-C to the parent process,
    which then stops the pool (otherwise every worker prints its own traceback).
    """
    import signal

    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    import cv2

    cv2.setNumThreads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def read_files(paths: Iterable[str], spec, workers: int | None = None, single: bool = False,
               min_confidence: float | None = None, with_inputs: bool = False,
               chunksize: int | None = None) -> Iterator[dict]:
    """Read image files on ``workers`` processes; yield their records in input order, as they come.

    Parameters
    ----------
    paths : iterable of str
        Image files; ``"-"`` is standard input, read in this process when its turn comes.
    spec : ReaderSpec
        The reader each worker builds once; give it ``threads=1`` when ``workers`` is the core count.
    workers : int, optional
        Worker processes (default: :func:`cpu_count`). 1 reads in this process, with no pool.
    single, min_confidence, with_inputs
        As for :func:`read_file`.
    chunksize : int, optional
        Files per task (default: enough for about four tasks per worker, at most 16).

    Yields
    ------
    dict
        One record per path, in the order of ``paths`` (see :func:`read_file`).

    Raises
    ------
    DigitsError
        The reader cannot be loaded, or a worker process died (killed, out of memory).

    Notes
    -----
    At most a few chunks per worker are in flight, so memory stays flat however many paths come
    (``paths`` may be a generator). Workers are started with ``spawn``: a fresh interpreter is
    safe whatever threads this process runs (``fork`` is not) and behaves the same on every OS.
    """
    workers = cpu_count() if workers is None else max(1, int(workers))
    if workers == 1:
        for path in paths:
            yield read_file(spec, path, single, min_confidence, with_inputs)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from handwritten_digits.errors import DigitsError

    if chunksize is None:
        count = len(paths) if hasattr(paths, "__len__") else None
        # small chunks balance the load and keep output flowing; large ones save round trips
        chunksize = 16 if count is None else max(1, min(16, -(-count // (4 * workers))))
    jobs = _jobs(iter(paths), chunksize)
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=init_worker)
    pending: deque = deque()  # (future or None for stdin, the chunk), in input order

    def submit() -> bool:
        chunk = next(jobs, None)
        if chunk is None:
            return False
        local = chunk == [STDIN]
        pending.append((None if local else pool.submit(read_chunk, spec, chunk, single, min_confidence, with_inputs), chunk))
        return True

    try:
        while len(pending) < 2 * workers and submit():  # two chunks each: no worker waits for the next
            pass
        while pending:
            future, chunk = pending.popleft()
            submit()
            try:
                records = read_chunk(spec, chunk, single, min_confidence, with_inputs) if future is None else future.result()
            except BrokenProcessPool:
                raise DigitsError("a worker process died (out of memory? try fewer --workers)") from None
            yield from records
    finally:  # also when the caller stops early (a closed pipe, Ctrl-C): drop what has not started
        pool.shutdown(wait=True, cancel_futures=True)


def _jobs(paths: Iterator[str], size: int) -> Iterator[list[str]]:
    """Chunks of up to ``size`` paths; standard input always alone, to be read in this process."""
    chunk: list[str] = []
    for path in paths:
        if path == STDIN:
            if chunk:
                yield chunk
            chunk = []
            yield [STDIN]
        else:
            chunk.append(path)
            if len(chunk) == size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk
