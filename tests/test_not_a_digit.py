"""'Not a digit' (and 'several digits'): the extra classes from the model card to the runtime, the reader, the CLI and the API."""

import numpy as np
import pytest
import torch

from handwritten_digits import modelcard
from handwritten_digits.reading.reader import Reader
from handwritten_digits.results import ReadResult
from handwritten_digits.runtime import Recognizer
from handwritten_digits.training.mixture import CLASSES, NOT_DIGIT, not_digit_threshold


@pytest.fixture(scope="module")
def open_set_model(tmp_path_factory):
    """A small untrained network with the "not a digit" class, exported as the trainer exports one."""
    from handwritten_digits.models.cnn import build_model
    from handwritten_digits.training.export import export_model

    torch.manual_seed(0)
    net = build_model("fast", classes=len(CLASSES)).eval()
    out = tmp_path_factory.mktemp("open") / "model.onnx"
    return export_model(net, out, name="open", architecture={"name": "fast", "classes": len(CLASSES)}, classes=CLASSES,
                        not_digit_threshold=0.3, temperature=1.0)


@pytest.fixture(scope="module")
def ten_class_model(tmp_path_factory):
    """A small untrained network that knows digits only (the cards before "not a digit")."""
    from handwritten_digits.models.cnn import build_model
    from handwritten_digits.training.export import export_model

    torch.manual_seed(0)
    net = build_model("fast").eval()
    return export_model(net, tmp_path_factory.mktemp("ten") / "model.onnx", name="ten", architecture={"name": "fast"},
                        temperature=1.0)


def test_the_bundled_models_all_say_not_a_digit():
    for name in ("default", "default-int8", "accurate"):
        rec = Recognizer.load(name, checker=False)
        assert rec.open_set and 0.5 < rec.not_digit_threshold < 1, name


def test_an_open_set_card_gives_digit_probabilities_and_the_not_a_digit_share(open_set_model):
    rec = Recognizer.load(open_set_model, checker=False)
    images = np.random.default_rng(0).random((6, 28, 28)).astype(np.float32)
    full = rec.probabilities(images)
    assert rec.open_set and full.shape == (6, 12)
    np.testing.assert_allclose(full.sum(1), 1, atol=1e-5)
    np.testing.assert_allclose(rec.predict_proba(images), full[:, :10], atol=1e-6)  # digits: what is left of 1
    np.testing.assert_array_equal(rec.not_digit(probs=full), full[:, NOT_DIGIT] >= 0.3)
    probs = np.zeros((2, 12))
    probs[0, 10], probs[1, 11] = 0.31, 0.9  # several digits are no mark
    assert rec.not_digit(probs=probs).tolist() == [True, False]


def test_a_ten_class_model_never_says_not_a_digit(ten_class_model):
    rec = Recognizer.load(ten_class_model, checker=False)
    assert not rec.open_set
    assert not rec.not_digit(np.random.default_rng(0).random((3, 28, 28)).astype(np.float32)).any()


@pytest.mark.parametrize("card_change, message", [
    ({"classes": list(range(11))}, "'classes'"),
    ({"classes": CLASSES, "not_digit_threshold": 0}, "not_digit_threshold"),
    ({"classes": CLASSES, "not_digit_threshold": "high"}, "not_digit_threshold"),
])
def test_bad_open_set_cards_are_refused(card_change, message):
    card = modelcard.new_card(**card_change)
    assert message in modelcard.check_card(card)


class PlusSignsAreNotDigits:
    """Reads every piece as a sure 4, except pieces inked through their middle (a plus sign): surely "not
    a digit" (beside a digit, as tall, a piece must be judged so more surely than a lone one)."""

    name, card, open_set = "fake", {"name": "fake"}, True

    def probabilities(self, images):
        probs = np.zeros((len(images), 11), np.float32)
        for i, im in enumerate(np.asarray(images)):
            plus = im[12:16, 12:16].mean() > 0.5
            probs[i, 10 if plus else 4] = 0.995 if plus else 0.95
            probs[i, 0] = 1.0 - probs[i].sum()
        return probs

    def not_digit(self, images=None, probs=None):
        return np.asarray(probs)[:, 10] >= 0.5

    def piece_scores(self, images, probs=None, among_digits=False):
        return np.full(len(images), 0.9, np.float32)


def page_with_a_digit_and_a_plus() -> np.ndarray:
    page = np.full((120, 260), 255, np.uint8)
    zero = np.zeros((60, 44), bool)  # a ring, as a 0 is written: read as a digit
    yy, xx = np.mgrid[:60, :44]
    r = ((yy - 29.5) / 28) ** 2 + ((xx - 21.5) / 20) ** 2
    zero[(r > 0.55) & (r < 1)] = True
    page[30:90, 30:74][zero] = 0
    page[54:62, 90:130] = 0  # a plus sign after it: not a digit
    page[38:78, 106:114] = 0
    return page


def test_the_reader_keeps_marks_out_of_the_numbers_and_the_text():
    result = Reader(PlusSignsAreNotDigits()).read(page_with_a_digit_and_a_plus())
    assert result.text == "4" and len(result.digits) == 1
    assert len(result.marks) == 1
    x0, y0, x1, y1 = result.marks[0].box
    assert (x0, y0, x1, y1) == (90, 38, 130, 78)
    exported = result.to_dict()
    assert exported["marks"] == [{"box": list(result.marks[0].box), "confidence": 0.995}]
    assert [d["digit"] for d in exported["digits"]] == [4]


class WideInkIsAMark(PlusSignsAreNotDigits):
    """A wide piece is a mark, and reads badly as a digit (so the segmenter cuts it); narrow ones are sure 4s."""

    def probabilities(self, images):
        probs = np.zeros((len(images), 12), np.float32)
        for i, im in enumerate(np.asarray(images)):
            ys, xs = np.nonzero(im > 0.2)
            probs[i, 10 if np.ptp(xs) > 1.3 * np.ptp(ys) else 4] = 0.95
            probs[i, 0] = 0.05
        return probs

    def piece_scores(self, images, probs=None, among_digits=False):
        return np.asarray(probs if probs is not None else self.probabilities(images))[:, :10].max(1)


def test_a_mark_cut_into_digit_like_strokes_is_made_whole_again():
    page = np.full((140, 260), 255, np.uint8)
    for x in (40, 90, 140, 190):  # an "m" of four legs on one bar: one wide stroke
        page[40:100, x : x + 8] = 0
    page[40:48, 40:198] = 0
    result = Reader(WideInkIsAMark()).read(page)
    assert result.text == "" and len(result.marks) == 1
    assert np.allclose(result.marks[0].box, (40, 40, 198, 100), atol=1)
    cut = WideInkIsAMark()
    cut.open_set = False  # the same reading without undoing cuts: the strokes read as digits
    assert set(Reader(cut).read(page).text) == {"4"}


def test_a_mark_alone_reads_as_no_digit():
    page = np.full((100, 200), 255, np.uint8)
    page[46:54, 60:120] = 0
    page[20:80, 86:94] = 0
    for single in (False, True):
        result = Reader(PlusSignsAreNotDigits()).read(page, single=single)
        assert result.text == "" and result.digits == [] and len(result.marks) == 1


def test_plain_cli_output_names_marks():
    from handwritten_digits.commands.predict import text_lines

    only = ReadResult(marks=Reader(PlusSignsAreNotDigits()).read(page_with_a_digit_and_a_plus()).marks).to_dict()
    assert text_lines({"path": "a.png", **only}) == "a.png: (not a digit)\n"
    both = Reader(PlusSignsAreNotDigits()).read(page_with_a_digit_and_a_plus()).to_dict()
    assert text_lines({"path": "b.png", **both}).splitlines() == ["b.png: 4  (0.950)", "b.png: (and 1 mark that is not a digit)"]


def test_the_api_returns_marks_with_their_inputs(tmp_path):
    import io

    from fastapi.testclient import TestClient
    from PIL import Image

    from handwritten_digits.server.app import create_app
    from handwritten_digits.server.settings import Settings

    buffer = io.BytesIO()
    Image.fromarray(page_with_a_digit_and_a_plus()).save(buffer, format="PNG")
    app = create_app(Settings(feedback_db=tmp_path / "fb.db"), recognizer=PlusSignsAreNotDigits())
    with TestClient(app) as client:
        response = client.post("/api/v1/recognize?include_inputs=true", content=buffer.getvalue(),
                               headers={"Content-Type": "image/png"})
    body = response.json()
    assert response.status_code == 200 and body["text"] == "4"
    assert len(body["marks"]) == 1 and body["marks"][0]["input"].startswith("data:image/png;base64,")


def test_widening_a_head_keeps_what_it_knows_of_the_digits(tmp_path):
    from handwritten_digits.models.cnn import build_model
    from handwritten_digits.training.checkpoint import save_checkpoint
    from handwritten_digits.training.export import export_model
    from handwritten_digits.training.loop import init_weights

    torch.manual_seed(1)
    ten = build_model("fast").eval()
    path = export_model(ten, tmp_path / "ten.onnx", name="ten", architecture={"name": "fast"})
    save_checkpoint(path.with_suffix(".pt"), {"architecture": {"name": "fast"}, "model": ten.state_dict()})
    architecture, state = init_weights(str(path), classes=12)
    assert architecture["classes"] == 12
    eleven = build_model(**architecture).eval()
    eleven.load_state_dict(state)
    x = torch.rand(8, 1, 28, 28)
    with torch.no_grad():
        before, after = ten(x), eleven(x)
    torch.testing.assert_close(after[:, :10], before)
    assert (after[:, 10:].max(1).values < before.min(1).values).all()  # the new classes start unlikely


def test_the_threshold_rejects_no_more_digits_than_each_budget():
    rng = np.random.default_rng(0)
    n = 2000
    digits_not = rng.beta(1, 30, size=(2, n))  # digits: low "not a digit" probabilities
    marks_not = rng.beta(8, 2, size=n)
    probs = np.zeros((3 * n, 11))
    probs[:, 10] = np.concatenate([digits_not[0], digits_not[1], marks_not])
    labels = np.concatenate([np.zeros(2 * n, int), np.full(n, 10)])
    parts = {"mnist": [0, n], "usps": [n, 2 * n], "not a digit": [2 * n, 3 * n]}
    threshold, shares = not_digit_threshold(probs, labels, parts)
    assert shares["mnist"] <= 0.003 and shares["usps"] <= 0.006
    assert shares["not a digit"] >= 0.97  # then as high as keeps 97% of marks rejected
    assert (probs[2 * n:, 10] >= threshold + 0.01).mean() < 0.97
    hard = probs.copy()  # marks hard to tell: the digits' budgets alone set it
    hard[2 * n:, 10] = rng.beta(2, 8, size=n)
    threshold, shares = not_digit_threshold(hard, labels, parts)
    assert shares["mnist"] <= 0.003 and shares["usps"] <= 0.006 and shares["not a digit"] < 0.97
    lower = threshold * 0.9  # and it is the lowest such threshold, up to a digit's step
    assert (hard[:n, 10] >= lower).mean() > 0.003 or (hard[n:2 * n, 10] >= lower).mean() > 0.006


def test_an_ensemble_of_open_set_models_keeps_the_class(open_set_model, ten_class_model, tmp_path):
    import onnxruntime as ort

    from handwritten_digits.errors import DigitsError
    from handwritten_digits.training.ensemble import build_ensemble

    data, card = build_ensemble([open_set_model, open_set_model])
    assert card["classes"] == CLASSES
    rec = Recognizer(ort.InferenceSession(data, providers=["CPUExecutionProvider"]), card, tmp_path / "e.onnx")
    images = np.random.default_rng(1).random((3, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(rec.probabilities(images), Recognizer.load(open_set_model, checker=False).probabilities(images),
                               atol=1e-5)  # the mean of one model twice is that model
    with pytest.raises(DigitsError, match="same classes"):
        build_ensemble([open_set_model, ten_class_model])
