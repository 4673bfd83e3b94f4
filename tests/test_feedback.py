"""Corrections: SQLite store -> `digits feedback export` -> a folder-per-class dataset, and `stats`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from handwritten_digits.cli import main
from handwritten_digits.errors import DigitsError
from handwritten_digits.server.feedback import FeedbackStore, image_to_png, png_to_image
from handwritten_digits.server.settings import default_feedback_db


def digits_like(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), np.float32)
    for i in range(n):
        y, x = rng.integers(4, 16, size=2)
        images[i, y:y + 10, x:x + 3] = rng.uniform(0.5, 1.0)  # a stroke, with 8-bit-exact-ish values
    return images


def test_png_round_trip_is_8_bit_exact():
    image = digits_like(1)[0]
    back = png_to_image(image_to_png(image))
    assert back.shape == (28, 28) and back.dtype == np.float32
    assert np.abs(back - image).max() <= 0.5 / 255 + 1e-6


def test_store_then_export_round_trip(tmp_path):
    store = FeedbackStore(tmp_path / "nested" / "feedback.db")
    images = digits_like(6)
    labels = [3, 3, 0, 9, 7, 3]
    ids = [store.add(img, label, predicted=8, confidence=0.6, model="test") for img, label in zip(images, labels)]
    assert ids == sorted(ids) and len(set(ids)) == 6
    assert store.count() == 6

    got, got_labels = store.samples()
    assert list(got_labels) == labels
    assert np.abs(got - images).max() <= 0.5 / 255 + 1e-6

    out = tmp_path / "dataset"
    assert main(["feedback", "--feedback-db", str(store.path), "export", str(out)]) == 0
    for label in set(labels):
        files = sorted((out / str(label)).glob("*.png"))
        assert len(files) == labels.count(label)
        for f in files:
            with Image.open(f) as img:
                assert img.size == (28, 28)
    written = sorted(out.glob("*/*.png"))
    assert len(written) == 6
    # every exported image is one of the stored inputs, under its label
    exported = {(int(f.parent.name), np.asarray(Image.open(f).convert("L"), np.float32).sum().round(0)) for f in written}
    stored = {(label, (png_to_image(image_to_png(img)) * 255).sum().round(0)) for img, label in zip(images, labels)}
    assert exported == stored
    # and `digits train --data folder:DIR` reads it back through the same loader
    from handwritten_digits.data.folder import load_folder

    loaded, loaded_labels = load_folder(out)
    assert loaded.shape == (6, 28, 28) and sorted(loaded_labels.tolist()) == sorted(labels)


def test_stats(tmp_path, capsys):
    store = FeedbackStore(tmp_path / "fb.db")
    for img, (label, predicted) in zip(digits_like(4), [(1, 7), (1, 7), (4, 9), (5, None)]):
        store.add(img, label, predicted)
    stats = store.stats()
    assert stats["total"] == 4 and stats["per_label"]["1"] == 2 and stats["per_label"]["0"] == 0
    assert stats["confusions"][0] == {"predicted": 7, "label": 1, "count": 2}
    assert main(["feedback", "--feedback-db", str(store.path), "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 4
    assert main(["feedback", "--feedback-db", str(store.path), "stats"]) == 0
    assert "read 7 but was 1: 2" in capsys.readouterr().out


def test_bad_label_and_missing_database(tmp_path, capsys):
    store = FeedbackStore(tmp_path / "fb.db")
    with pytest.raises(DigitsError):
        store.add(digits_like(1)[0], 10)
    assert main(["feedback", "--feedback-db", str(tmp_path / "none.db"), "stats"]) == 2
    assert "no feedback database" in capsys.readouterr().err


def test_default_database_honours_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_feedback_db() == tmp_path / "handwritten-digits" / "feedback.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert str(default_feedback_db()).endswith(".local/share/handwritten-digits/feedback.db")


def test_a_fresh_database_set_up_while_locked_is_tried_again():
    """Turning a new file to WAL answers "locked" at once while another connection sets it up (no busy
    wait): the set-up waits and tries again; any other error is raised."""
    import sqlite3

    from handwritten_digits.server import feedback

    class Conn:
        def __init__(self, fails: int, message: str = "database is locked"):
            self.fails, self.message, self.done = fails, message, []

        def execute(self, sql):
            if self.fails:
                self.fails -= 1
                raise sqlite3.OperationalError(self.message)
            self.done.append(sql)

    conn = Conn(3)
    feedback._set_up(conn)
    assert conn.done[0] == "PRAGMA journal_mode=WAL" and "CREATE TABLE" in conn.done[1]
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        feedback._set_up(Conn(1, "disk I/O error"))
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        feedback._set_up(Conn(feedback.SETUP_TRIES))


def test_corrections_arriving_together_on_a_fresh_database_are_all_kept(tmp_path):
    """Eight threads add a correction at once to a database none has made yet, thirty times over."""
    import threading

    for trial in range(30):
        store, barrier, errors = FeedbackStore(tmp_path / f"{trial}.db"), threading.Barrier(8), []

        def add():
            barrier.wait()
            try:
                store.add(np.zeros((28, 28), np.float32), 1)
            except DigitsError as exc:
                errors.append(str(exc))

        threads = [threading.Thread(target=add) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors and store.count() == 8
