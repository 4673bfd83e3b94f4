"""Corrections from the page, kept in SQLite and exported as a folder-per-class dataset.

Each row holds the 28x28 model input (PNG, ink bright on dark, as the model saw it), the digit the
user says is right, what the model predicted, and when. ``export`` writes ``DIR/0..9/*.png``, the
layout ``digits train --data folder:DIR --init MODEL`` fine-tunes on.
"""

from __future__ import annotations

import datetime as _dt
import io
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import numpy as np

from handwritten_digits.errors import DigitsError

SETUP_TRIES, SETUP_WAIT = 50, 0.02  # a fresh database's set-up is tried this often, this many seconds apart
SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
    predicted INTEGER CHECK (predicted BETWEEN 0 AND 9),
    confidence REAL,
    model TEXT,
    image BLOB NOT NULL
)
"""


def image_to_png(image: np.ndarray) -> bytes:
    """A (28, 28) float image in [0, 1] as 8-bit grayscale PNG bytes."""
    from PIL import Image

    pixels = (np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def png_to_image(data: bytes) -> np.ndarray:
    """PNG bytes (as stored) back to a float32 (28, 28) image in [0, 1]."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("L"), dtype=np.float32) / 255.0


def _set_up(conn: sqlite3.Connection) -> None:
    """WAL journal and the table. Turning a new file to WAL needs it alone, and SQLite answers "locked"
    at once there, without its busy wait (corrections arriving together on a fresh database): the
    connection waits and tries again, up to ``SETUP_TRIES`` times."""
    for attempt in range(SETUP_TRIES):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(SCHEMA)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == SETUP_TRIES - 1:
                raise
            time.sleep(SETUP_WAIT)


class FeedbackStore:
    """A SQLite file of corrections. Safe across threads and worker processes (one connection per call).

    Parameters
    ----------
    path : str or Path
        The database file; its folder is created on first write.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _connect(self, create: bool = True) -> sqlite3.Connection:
        if not create and not self.path.exists():
            raise DigitsError(f"{self.path}: no feedback database (nothing has been corrected yet)")
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10)
            _set_up(conn)
        except (OSError, sqlite3.Error) as exc:
            raise DigitsError(f"{self.path}: cannot open feedback database ({exc})") from None
        return conn

    def add(self, image: np.ndarray, label: int, predicted: int | None = None,
            confidence: float | None = None, model: str | None = None) -> int:
        """Store one corrected 28x28 input; returns its id."""
        if not 0 <= int(label) <= 9:
            raise DigitsError(f"label must be a digit 0-9, got {label}")
        created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        with closing(self._connect()) as conn, conn:
            cursor = conn.execute(
                "INSERT INTO feedback (created, label, predicted, confidence, model, image) VALUES (?, ?, ?, ?, ?, ?)",
                (created, int(label), predicted, confidence, model, image_to_png(image)),
            )
            return int(cursor.lastrowid)

    def count(self) -> int:
        with closing(self._connect()) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        """All stored inputs, float32 (N, 28, 28) in [0, 1], and their labels, int64 (N,)."""
        with closing(self._connect(create=False)) as conn:
            rows = conn.execute("SELECT image, label FROM feedback ORDER BY id").fetchall()
        images = np.stack([png_to_image(r[0]) for r in rows]) if rows else np.zeros((0, 28, 28), np.float32)
        return images, np.array([r[1] for r in rows], dtype=np.int64)

    def stats(self) -> dict:
        """Counts per label, the most frequent (predicted -> label) confusions, first and last time."""
        with closing(self._connect(create=False)) as conn:
            total, first, last = conn.execute("SELECT COUNT(*), MIN(created), MAX(created) FROM feedback").fetchone()
            per_label = dict(conn.execute("SELECT label, COUNT(*) FROM feedback GROUP BY label").fetchall())
            confusions = conn.execute(
                "SELECT predicted, label, COUNT(*) AS n FROM feedback WHERE predicted IS NOT NULL AND predicted != label "
                "GROUP BY predicted, label ORDER BY n DESC, predicted, label LIMIT 10"
            ).fetchall()
        return {
            "database": str(self.path),
            "total": int(total),
            "per_label": {str(k): int(per_label.get(k, 0)) for k in range(10)},
            "confusions": [{"predicted": p, "label": y, "count": n} for p, y, n in confusions],
            "first": first,
            "last": last,
        }

    def export(self, out: str | Path) -> int:
        """Write every sample to ``out/<label>/*.png``; returns how many."""
        images, labels = self.samples()
        out = Path(out)
        try:
            from handwritten_digits.data.folder import save_folder
        except ImportError:
            save_folder = None
        if save_folder is not None:
            save_folder(images, labels, out, prefix="feedback")
        else:
            _write_folder(images, labels, out)
        return len(labels)


def _write_folder(images: np.ndarray, labels: np.ndarray, out: Path) -> None:
    from handwritten_digits.fileio import atomic_write_bytes

    for index, (image, label) in enumerate(zip(images, labels)):
        atomic_write_bytes(out / str(int(label)) / f"feedback-{index:06d}.png", image_to_png(image))
