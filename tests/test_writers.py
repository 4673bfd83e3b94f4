"""Extra training writers (pendigits, optdigits, USPS train) as MNIST-style inputs with writer-wise splits."""

import numpy as np
import pytest

from handwritten_digits.data.external import load_external
from handwritten_digits.data.pendigits import (
    digit_inputs,
    locate_pendigits,
    read_pendigits,
)
from handwritten_digits.data.writers import (
    OPTDIGITS_FILE,
    load_writers,
    optdigits_writer_cut,
    pendigits_val_writers,
    read_optdigits,
    usps_val_mask,
)
from handwritten_digits.errors import DigitsError

PER_WRITER = 8  # pendigits digits drawn per writer in these tests: 240 drawings, ~2 s


def _mnist_style(images, labels):
    assert images.ndim == 3 and images.shape[1:] == (28, 28) and images.dtype == np.float32
    assert labels.shape == (len(images),) and labels.dtype == np.int64
    assert 0.0 <= images.min() and images.max() <= 1.0 and images.max() > 0.9
    assert set(labels.tolist()) <= set(range(10))
    # ink bright on a dark background, centred by mass in the frame as MNIST's
    assert images.mean() < 0.25 and np.median(images) == 0.0
    ys, xs = np.mgrid[:28, :28]
    mass = images.sum(axis=(1, 2))
    assert (mass > 0).all()
    for grid in (ys, xs):
        assert np.abs((images * grid).sum(axis=(1, 2)) / mass - 14).max() < 1.0


@pytest.fixture(scope="module")
def pen(external_dir):
    return {split: load_writers("pendigits", split, external_dir, limit=PER_WRITER) for split in ("train", "val")}


def test_pendigits_inputs_split_by_writer(pen, external_dir):
    (train, train_labels), (val, val_labels) = pen["train"], pen["val"]
    _mnist_style(train, train_labels)
    _mnist_style(val, val_labels)
    assert (len(train), len(val)) == (24 * PER_WRITER, 6 * PER_WRITER)  # 6 of the 30 writers held out
    # by writer: val is exactly the held-out writers' digits, in file order
    digits = read_pendigits(locate_pendigits(external_dir / "pendigits" / "pendigits-orig.tra"))
    held = set(pendigits_val_writers([d.writer for d in digits], seed=0).tolist())
    assert len(held) == 6 and held != set(pendigits_val_writers(range(1, 31), seed=1).tolist())
    kept = [d for i, d in enumerate(digits) if sum(e.writer == d.writer for e in digits[:i]) < PER_WRITER]
    assert val_labels.tolist() == [d.label for d in kept if d.writer in held]
    assert train_labels.tolist() == [d.label for d in kept if d.writer not in held]
    assert not {im.tobytes() for im in train} & {im.tobytes() for im in val}
    again = load_writers("pendigits", "val", external_dir, limit=PER_WRITER)
    np.testing.assert_array_equal(again[0], val)  # deterministic


def test_coarse_digits_can_come_from_every_training_writer(pen, external_dir):
    from handwritten_digits.training.mixture import with_writers

    mnist = (np.zeros((5, 28, 28), np.float32), np.arange(5, dtype=np.int64))
    images, labels = with_writers(mnist, limit=PER_WRITER, external_dir=external_dir)
    assert images.shape == (5 + 3 * PER_WRITER, 28, 28) and labels.tolist()[:5] == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(images[5:5 + PER_WRITER], pen["train"][0][:PER_WRITER])  # writers' training digits only
    others = [load_writers(source, "train", external_dir)[1][:PER_WRITER] for source in ("optdigits", "usps")]
    np.testing.assert_array_equal(labels[5 + PER_WRITER:], np.concatenate(others))


def test_pendigits_digit_inputs_copies_and_determinism(external_dir):
    digits = read_pendigits(external_dir / "pendigits" / "pendigits-orig.tra")[:5]
    images, labels, index = digit_inputs(digits, seed=3, copies=2, progress=False)
    _mnist_style(images, labels)
    assert index.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert labels.tolist() == [digits[i].label for i in index]
    assert not np.array_equal(images[0], images[1])  # each copy its own pen width, size and place
    # drawing more digits or copies doesn't change the first ones' drawings
    fewer = digit_inputs(digits[:3], seed=3, copies=1, progress=False)[0]
    np.testing.assert_array_equal(fewer, images[[0, 2, 4]])
    assert not np.array_equal(digit_inputs(digits[:1], seed=4, progress=False)[0][0], images[0])
    with pytest.raises(DigitsError, match="copies"):
        digit_inputs(digits, copies=0)


def test_bundled_model_reads_pendigits_inputs(pen):
    from handwritten_digits.runtime import Recognizer

    images = np.concatenate([pen["train"][0], pen["val"][0]])[:200]
    labels = np.concatenate([pen["train"][1], pen["val"][1]])[:200]
    assert len(images) == 200
    accuracy = (Recognizer.load().predict(images) == labels).mean()
    assert accuracy >= 0.9, f"the bundled model reads {accuracy:.1%} of rendered pendigits"


def test_optdigits_split_by_writer_block(external_dir):
    train, train_labels = load_writers("optdigits", "train", external_dir)
    val, val_labels = load_writers("optdigits", "val", external_dir)
    _mnist_style(train, train_labels)
    _mnist_style(val, val_labels)
    assert len(train) + len(val) == 1934 and 0.15 < len(val) / 1934 < 0.25
    assert np.bincount(val_labels, minlength=10).min() > 20
    bitmaps, labels = read_optdigits(external_dir / OPTDIGITS_FILE)
    assert bitmaps.shape == (1934, 32, 32) and labels.tolist()[:3] == [0, 0, 7]
    assert optdigits_writer_cut(bitmaps, labels) == len(train)  # a contiguous tail: train is the head
    np.testing.assert_array_equal(load_writers("optdigits", "val", external_dir, seed=5)[0], val)
    twice, twice_labels = load_writers("optdigits", "val", external_dir, copies=2)  # fixed bitmaps: repeated
    np.testing.assert_array_equal(twice[1::2], val)
    np.testing.assert_array_equal(twice_labels, np.repeat(val_labels, 2))


def test_bad_optdigits_files_are_errors(tmp_path):
    good = ["title", "ndigit = 2", ""] + (["0" * 16 + "1" * 16] * 32 + [" 3"]) * 2
    path = tmp_path / "opt.tra"
    path.write_text("\n".join(good))
    bitmaps, labels = read_optdigits(path)
    assert bitmaps.shape == (2, 32, 32) and labels.tolist() == [3, 3] and bitmaps[0, 0, 16] == 1
    cases = {
        "missing": None,
        "no 32x32 bitmaps": "just some text\n",
        "expected 32 rows": "\n".join(good[:10] + ["0" * 31] + good[11:]),
        "then a label": "\n".join(good[:3 + 32] + [" x"] + good[3 + 33:]),
        "end of file": "\n".join(good[:3 + 33 + 20]),
        "truncated": "\n".join(good[:3 + 33]),
    }
    for message, text in cases.items():
        bad = tmp_path / f"{len(message)}.tra"
        if text is not None:
            bad.write_text(text)
        with pytest.raises(DigitsError, match="cannot read" if text is None else message) as info:
            read_optdigits(bad)
        assert "\n" not in str(info.value)
    empty = tmp_path / "external"
    (empty / "optdigits").mkdir(parents=True)
    (empty / "optdigits" / "optdigits-orig.tra").write_text("not optdigits\n")
    with pytest.raises(DigitsError, match="no 32x32"):
        load_writers("optdigits", "train", empty)


def test_usps_train_split_never_returns_zip_test(external_dir):
    train, train_labels = load_writers("usps", "train", external_dir)
    val, val_labels = load_writers("usps", "val", external_dir)
    _mnist_style(val, val_labels)
    assert len(train) + len(val) == 7291 and 0.14 < len(val) / 7291 < 0.16
    # stratified: each label held out in the proportion it has in zip.train
    np.testing.assert_allclose(np.bincount(val_labels) / len(val), np.bincount(train_labels) / len(train), atol=0.01)
    usps_train, usps_labels = load_external("usps-train", external_dir)
    mask = usps_val_mask(usps_labels, seed=0)
    np.testing.assert_array_equal(usps_train[mask], val)  # disjoint by construction: one mask
    np.testing.assert_array_equal(usps_train[~mask], train)
    assert not (usps_val_mask(usps_labels, seed=1) == mask).all()
    np.testing.assert_array_equal(load_writers("usps", "val", external_dir)[1], val_labels)


def test_usps_train_and_test_files(external_dir):
    train = load_external("usps-train", external_dir)
    test = load_external("usps-test", external_dir)
    assert len(train[1]) == 7291 and len(test[1]) == 2007
    assert np.bincount(train[1]).tolist()[:3] == [1194, 1005, 731] and np.bincount(test[1]).tolist()[:3] == [359, 264, 198]
    both = load_external("usps", external_dir)
    np.testing.assert_array_equal(both[0], np.concatenate([train[0], test[0]]))


def test_unknown_sources_and_splits():
    with pytest.raises(DigitsError, match="unknown source"):
        load_writers("semeion", "train")
    with pytest.raises(DigitsError, match="unknown split"):
        load_writers("usps", "test")


def test_the_writers_weigh_as_many_times_more_as_asked(monkeypatch):
    """``--writers-weight K``: each extra source of writers gives K times its usual copies to the mix (MNIST's
    share and validation unchanged)."""
    import handwritten_digits.data.writers as writers
    from handwritten_digits.training.mixture import COPIES, add_sources

    asked = []

    def fake(source, split, external_dir=None, seed=0, copies=1, limit=None):
        asked.append((source, split, copies))
        return np.zeros((4 * copies, 28, 28), np.float32), np.arange(4 * copies, dtype=np.int64) % 10

    monkeypatch.setattr(writers, "load_writers", fake)
    digits = np.random.default_rng(0).random((40, 28, 28)).astype(np.float32), np.arange(40, dtype=np.int64) % 10
    counts = {}
    for weight in (1, 3):
        asked.clear()
        _, _, info = add_sources(digits, digits, weight=weight)
        counts[weight] = info["train"]
        assert [c for s, split, c in asked if split == "train"] == [weight * COPIES.get(s, 1) for s in writers.SOURCES]
        assert {c for _, split, c in asked if split == "val"} == {1}
    assert counts[3]["mnist"] == counts[1]["mnist"] == 40
    assert all(counts[3][s] == 3 * counts[1][s] for s in writers.SOURCES)
