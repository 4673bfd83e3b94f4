"""A user's folder-per-class digits and the external evaluation sets (USPS test, Semeion)."""

import numpy as np
import pytest
from PIL import Image

from handwritten_digits.data import load_eval_set
from handwritten_digits.data.external import load_external
from handwritten_digits.data.folder import load_folder, save_folder
from handwritten_digits.errors import DigitsError


def _centre_of_mass(image):
    ys, xs = np.mgrid[:28, :28]
    mass = image.sum()
    return (ys * image).sum() / mass, (xs * image).sum() / mass


def _photo(digit_box, size=(120, 90)):
    """A dark stroke on a light page, off-centre, as a phone photo of a digit would be."""
    page = np.full(size[::-1], 230, np.uint8)
    y0, y1, x0, _ = digit_box
    page[y0:y1, x0:x0 + 6] = 20  # a vertical bar: a '1'
    page[y0:y0 + 5, x0 - 8:x0 + 6] = 20
    return Image.fromarray(page)


def test_load_folder_normalises_and_skips_bad_files(tmp_path, capsys):
    for digit in (1, 7):
        (tmp_path / str(digit)).mkdir()
        _photo((10, 70, 20, 26)).save(tmp_path / str(digit) / "a.png")
        _photo((20, 80, 60, 66)).convert("RGB").save(tmp_path / str(digit) / "b.jpg")
    Image.new("L", (50, 50), 255).save(tmp_path / "7" / "blank.png")
    (tmp_path / "1" / "broken.png").write_bytes(b"not an image")
    (tmp_path / "1" / "notes.txt").write_text("ignored")
    images, labels = load_folder(tmp_path)
    assert images.shape == (4, 28, 28) and images.dtype == np.float32
    assert labels.tolist() == [1, 1, 7, 7] and labels.dtype == np.int64
    assert 0.0 <= images.min() and images.max() <= 1.0 and images.max() > 0.5
    for image in images:  # MNIST-style: centred by mass, whatever the position on the page
        cy, cx = _centre_of_mass(image)
        assert abs(cy - 14) < 1.5 and abs(cx - 14) < 1.5
    assert "skipped 2" in capsys.readouterr().err


def test_load_folder_errors(tmp_path):
    with pytest.raises(DigitsError, match="not a folder"):
        load_folder(tmp_path / "missing")
    (tmp_path / "cats").mkdir()
    with pytest.raises(DigitsError, match="no labelled images"):
        load_folder(tmp_path)


def test_save_folder_round_trip(tmp_path, data_dir):
    from handwritten_digits.data import load_dataset

    images, labels = load_dataset("val", data_dir)
    images, labels = images[:12], labels[:12]
    save_folder(images, labels, tmp_path)
    files = sorted(tmp_path.glob("*/*.png"))
    assert len(files) == 12 and all(Image.open(f).size == (28, 28) for f in files)
    back, back_labels = load_eval_set(f"folder:{tmp_path}")
    assert sorted(back_labels.tolist()) == sorted(labels.tolist())
    assert back.shape == (12, 28, 28)


@pytest.fixture(scope="module")
def usps(external_dir):
    return load_external("usps-test", external_dir)


def test_usps_is_mnist_style(usps):
    images, labels = usps
    assert images.shape == (2007, 28, 28) and images.dtype == np.float32 and labels.dtype == np.int64
    assert labels.min() == 0 and labels.max() == 9 and len(np.unique(labels)) == 10
    assert 0.0 <= images.min() and images.max() <= 1.0
    # background is dark (MNIST style): almost no normalised digit reaches the frame's edge
    edge = np.maximum(images[:, :2, :].max(axis=(1, 2)), images[:, :, :2].max(axis=(1, 2)))
    assert (edge > 0.05).mean() < 0.01
    centres = np.array([_centre_of_mass(im) for im in images[:200]])
    assert np.abs(centres - 14).max() < 1.5


def test_semeion_is_mnist_style(external_dir):
    images, labels = load_eval_set("semeion", external_dir=external_dir)
    assert images.shape == (1593, 28, 28) and labels.dtype == np.int64
    assert np.bincount(labels, minlength=10).min() > 100
    centres = np.array([_centre_of_mass(im) for im in images[:200]])
    assert np.abs(centres - 14).max() < 1.5


def test_external_dir_from_environment(external_dir, monkeypatch):
    monkeypatch.setenv("DIGITS_EXTERNAL_DIR", str(external_dir))
    assert load_external("semeion")[0].shape == (1593, 28, 28)
    assert load_eval_set("usps-test")[0].shape == (2007, 28, 28)
    assert load_eval_set("usps")[0].shape == (9298, 28, 28)  # the old combined set still loads
    monkeypatch.setenv("DIGITS_EXTERNAL_DIR", str(external_dir / "nowhere"))
    with pytest.raises(DigitsError, match="cannot read"):
        load_external("usps-test")


def test_usps_test_is_zip_test(usps, external_dir):
    images, labels = usps
    assert np.bincount(labels).tolist() == [359, 264, 198, 166, 200, 160, 170, 147, 166, 177]  # zip.info.txt
    both_images, _ = load_external("usps", external_dir)
    np.testing.assert_array_equal(both_images[-2007:], images)  # zip.train, then zip.test
    assert load_external("usps-train", external_dir)[1].shape == (7291,)


def test_unknown_sets_are_errors():
    with pytest.raises(DigitsError, match="unknown external"):
        load_external("emnist")
    with pytest.raises(DigitsError, match="unknown dataset"):
        load_eval_set("train")
    with pytest.raises(DigitsError, match="unknown dataset"):
        load_eval_set("usps-train")  # what may be trained on is no evaluation set
