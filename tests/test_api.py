"""The REST API through FastAPI's test client: every route, every error, a fake recognizer swapped in."""

from __future__ import annotations

import io
import os
import struct
import threading
import zlib

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx2")
from fastapi.testclient import TestClient  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from handwritten_digits import modelcard  # noqa: E402
from handwritten_digits.errors import DigitsError  # noqa: E402
from handwritten_digits.server.app import READING_THREAD, create_app, get_recognizer  # noqa: E402
from handwritten_digits.server.schemas import FeedbackOut, ModelCard, RecognizeResponse  # noqa: E402
from handwritten_digits.server.settings import Settings  # noqa: E402

os.environ.setdefault("OMP_NUM_THREADS", "1")


def model_path() -> str:
    """The model digits serve serves by default, or $DIGITS_TEST_MODEL; tests that need a real model skip without one."""
    try:
        return str(modelcard.resolve(os.environ.get("DIGITS_TEST_MODEL") or Settings().model))
    except DigitsError as exc:
        pytest.skip(f"no model to serve: {exc}")


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(model=model_path(), feedback_db=tmp_path_factory.mktemp("fb") / "feedback.db", max_bytes=200_000)


@pytest.fixture(scope="module")
def client(settings):
    with TestClient(create_app(settings)) as c:
        yield c


def png(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def mnist_strip(data_dir, indices, pad=8) -> tuple[bytes, str]:
    """MNIST test digits side by side as dark ink on white paper, scaled up like a canvas drawing."""
    from handwritten_digits.data import load_dataset

    images, labels = load_dataset("test", data_dir=data_dir)
    tiles = [np.pad(images[i], pad) for i in indices]
    strip = 1.0 - np.concatenate(tiles, axis=1)
    img = Image.fromarray((strip * 255).astype(np.uint8)).resize((strip.shape[1] * 6, strip.shape[0] * 6), Image.BILINEAR)
    return png(img), "".join(str(int(labels[i])) for i in indices)


def two_blobs() -> bytes:
    img = Image.new("RGBA", (280, 140), (0, 0, 0, 0))  # a canvas export: transparent paper
    draw = ImageDraw.Draw(img)
    draw.line([(40, 20), (40, 120)], fill=(0, 0, 0, 255), width=14)
    draw.ellipse([(150, 20), (230, 120)], outline=(0, 0, 0, 255), width=14)
    return png(img)


def bomb_png(width=200_000, height=200_000) -> bytes:
    """A tiny PNG whose header claims a huge image (a decompression bomb)."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


# ---------------------------------------------------------------- recognize


def test_recognize_raw_body_reads_a_number(client, data_dir):
    body, expected = mnist_strip(data_dir, [0, 1, 2])  # 7, 2, 1
    response = client.post("/api/v1/recognize", content=body, headers={"Content-Type": "image/png"})
    assert response.status_code == 200
    result = RecognizeResponse.model_validate(response.json())
    assert result.text == expected
    assert len(result.digits) == 3 and [n.digits for line in result.lines for n in line.numbers] == [[0, 1, 2]]
    assert [d.box[0] for d in result.digits] == sorted(d.box[0] for d in result.digits)
    for d in result.digits:
        assert abs(sum(d.probabilities) - 1) < 1e-3 and d.confidence == max(d.probabilities)
        assert d.input is None
    assert (result.width, result.height) == Image.open(io.BytesIO(body)).size


def test_recognize_multipart_matches_raw(client, data_dir):
    body, expected = mnist_strip(data_dir, [3, 4])
    raw = client.post("/api/v1/recognize", content=body, headers={"Content-Type": "image/png"}).json()
    multi = client.post("/api/v1/recognize", files={"image": ("digits.png", body, "image/png")})
    assert multi.status_code == 200
    assert multi.json() == raw
    assert raw["text"] == expected


def test_same_json_as_digits_predict(client, settings, data_dir):
    from handwritten_digits.reading.reader import Reader

    body, _ = mnist_strip(data_dir, [5, 6, 7])
    api = client.post("/api/v1/recognize", content=body, headers={"Content-Type": "image/png"}).json()
    cli = Reader.load(settings.model).read(body).to_dict()  # what `digits predict --json` prints, minus path
    assert {k: api[k] for k in cli} == cli
    assert api["limits"] == []  # a short number reaches no cap on work


def test_recognize_single_and_min_confidence(client, data_dir):
    body, expected = mnist_strip(data_dir, [0])
    single = client.post("/api/v1/recognize?single=true", content=body, headers={"Content-Type": "image/png"}).json()
    assert single["text"] == expected and len(single["digits"]) == 1
    strict = client.post("/api/v1/recognize?min_confidence=1", content=body, headers={"Content-Type": "image/png"}).json()
    assert strict["text"] == "?" and strict["digits"][0]["rejected"] is True


def test_recognize_include_inputs_returns_28x28_pngs(client, data_dir):
    body, _ = mnist_strip(data_dir, [0, 1])
    result = client.post("/api/v1/recognize?include_inputs=true", content=body, headers={"Content-Type": "image/png"}).json()
    import base64

    for d in result["digits"]:
        prefix = "data:image/png;base64,"
        assert d["input"].startswith(prefix)
        img = Image.open(io.BytesIO(base64.b64decode(d["input"][len(prefix):])))
        assert img.size == (28, 28)
        pixels = np.asarray(img, dtype=np.float32)
        assert pixels[0].max() < 50 and pixels.max() > 200  # ink bright on a dark frame, like MNIST


def test_blank_image_is_200_with_empty_text(client):
    blank = png(Image.new("RGBA", (280, 280), (0, 0, 0, 0)))
    response = client.post("/api/v1/recognize", content=blank, headers={"Content-Type": "image/png"})
    assert response.status_code == 200
    assert response.json()["text"] == "" and response.json()["digits"] == [] and response.json()["lines"] == []


def test_recognize_a_page_gives_lines_of_numbers(client, data_dir):
    from handwritten_digits.data import load_dataset
    from handwritten_digits.data.pages import make_page

    image, truth = make_page(np.random.default_rng(9), load_dataset("val", data_dir), lengths=[[2, 3], [4]],
                             paper="ruled", shadow=False, show_through=False, perspective=False, degrade=False,
                             color=False, slant=0.0)
    response = client.post("/api/v1/recognize", content=png(Image.fromarray(image)), headers={"Content-Type": "image/png"})
    result = RecognizeResponse.model_validate(response.json())
    assert [[len(n.text) for n in line.numbers] for line in result.lines] == [[2, 3], [4]]
    assert result.text == "\n".join(line.text for line in result.lines)
    for line in result.lines:
        assert line.text == " ".join(n.text for n in line.numbers)
        for n in line.numbers:
            assert n.text == "".join(str(result.digits[k].digit) for k in n.digits)
            x0, y0, x1, y1 = n.box
            assert all(x0 <= result.digits[k].box[0] and result.digits[k].box[2] <= x1 for k in n.digits)


# ---------------------------------------------------------------- errors


def test_body_over_the_limit_is_413(client, settings):
    big = b"\x89PNG" + b"\0" * (settings.max_bytes + 1)
    response = client.post("/api/v1/recognize", content=big, headers={"Content-Type": "image/png"})
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


def test_streamed_body_over_the_limit_is_413(client, settings):
    def chunks():  # no Content-Length: the cap must hold on the bytes actually read
        for _ in range(settings.max_bytes // 10_000 + 2):
            yield b"\0" * 10_000

    response = client.post("/api/v1/recognize", content=chunks(), headers={"Content-Type": "image/png"})
    assert response.status_code == 413


def test_multipart_over_the_limit_is_413(client, settings):
    response = client.post("/api/v1/recognize", files={"image": ("a.png", b"\0" * (settings.max_bytes + 1), "image/png")})
    assert response.status_code == 413


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "application/octet-stream", None])
def test_unsupported_type_is_415(client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/api/v1/recognize", content=two_blobs(), headers=headers)
    assert response.status_code == 415
    assert "content type" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [b"not an image at all", two_blobs()[:60], b"\x89PNG\r\n\x1a\n" + os.urandom(300), b"%PDF-1.4 fake", b"<svg></svg>"],
    ids=["text", "truncated-png", "random-after-signature", "pdf", "svg"],
)
def test_undecodable_is_422_with_a_message(client, body):
    response = client.post("/api/v1/recognize", content=body, headers={"Content-Type": "image/png"})
    assert response.status_code == 422
    assert "image" in response.json()["detail"]


def test_bomb_header_is_refused_before_decoding(client):
    response = client.post("/api/v1/recognize", content=bomb_png(), headers={"Content-Type": "image/png"})
    assert response.status_code == 422
    assert "too large" in response.json()["detail"]


def test_empty_body_is_400(client):
    response = client.post("/api/v1/recognize", content=b"", headers={"Content-Type": "image/png"})
    assert response.status_code == 400
    assert "empty" in response.json()["detail"]


def test_multipart_without_image_field_is_400(client):
    response = client.post("/api/v1/recognize", files={"picture": ("a.png", two_blobs(), "image/png")})
    assert response.status_code == 400
    assert "'image'" in response.json()["detail"]


def test_bad_query_parameter_is_422(client):
    response = client.post("/api/v1/recognize?min_confidence=2", content=two_blobs(), headers={"Content-Type": "image/png"})
    assert response.status_code == 422


def test_random_bytes_never_give_500(client):
    rng = np.random.default_rng(0)
    seed = png(Image.new("L", (40, 40), 255))
    for _ in range(30):
        body = bytearray(seed)
        for pos in rng.integers(8, len(body), size=4):  # corrupt a valid PNG after its signature
            body[pos] = rng.integers(0, 256)
        response = client.post("/api/v1/recognize", content=bytes(body), headers={"Content-Type": "image/png"})
        assert response.status_code in (200, 422), response.text


def test_no_route_takes_a_path(client):
    schema = client.get("/openapi.json").json()
    for path, methods in schema["paths"].items():
        for op in methods.values():
            for param in op.get("parameters", []):
                assert param["name"] not in ("path", "file", "filename", "model"), (path, param)


# ---------------------------------------------------------------- model, probes, docs, page


def test_model_card(client):
    response = client.get("/api/v1/model")
    assert response.status_code == 200
    card = ModelCard.model_validate(response.json())
    on_disk = modelcard.read_card(model_path())
    assert card.input == on_disk["input"] and card.output == on_disk["output"]
    assert card.name == on_disk.get("name", card.name)
    assert "path" not in response.json()  # no file-system detail leaks


def test_health_and_ready(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["model"]


def test_docs_and_page(client):
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/api/v1/recognize" in schema["paths"] and "RecognizeResponse" in str(schema["components"])
    limits = schema["components"]["schemas"]["RecognizeResponse"]["properties"]["limits"]
    assert limits["type"] == "array" and "partial" in limits["description"]
    page = client.get("/")
    assert page.status_code == 200 and "<canvas" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN: works offline
    assert client.get("/static/app.js").status_code == 200 and client.get("/static/style.css").status_code == 200


def test_cors_is_off_by_default(client):
    response = client.options("/api/v1/recognize", headers={"Origin": "https://evil.example",
                                                            "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in response.headers


# ---------------------------------------------------------------- dependency override


class FakeRecognizer:
    """Says 4 for every digit, records what it was shown."""

    name = "fake"
    card = {"name": "fake", "kind": "test", "input": {"shape": [1, 28, 28]}, "output": "logits"}
    open_set = False  # no "not a digit" class

    def __init__(self):
        self.seen = []
        self.threads = set()

    def probabilities(self, images):
        images = np.asarray(images)
        self.seen.append(images.shape)
        self.threads.add(threading.current_thread().name)
        probs = np.full((len(images), 10), 0.01, dtype=np.float32)
        probs[:, 4] = 0.91
        return probs

    def not_digit(self, images=None, probs=None):  # every mark is a digit
        return np.zeros(len(probs if probs is not None else images), dtype=bool)

    def piece_scores(self, images, probs=None, among_digits=False):  # every piece looks like one whole digit
        return np.full(len(images), 0.9, dtype=np.float32)


def test_recognizer_is_swapped_by_dependency_override(client):
    fake = FakeRecognizer()
    client.app.dependency_overrides[get_recognizer] = lambda: fake
    try:
        result = client.post("/api/v1/recognize", content=two_blobs(), headers={"Content-Type": "image/png"}).json()
        card = client.get("/api/v1/model").json()
    finally:
        client.app.dependency_overrides.clear()
    assert result["text"] == "44"
    # the fake read both digits, as 28x28 inputs (how the reader batches them is the reader's business)
    assert fake.seen and all(shape[1:] == (28, 28) for shape in fake.seen) and sum(s[0] for s in fake.seen) >= 2
    assert result["digits"][0]["box"][0] < result["digits"][1]["box"][0]
    assert card["name"] == "fake"


def test_canvas_and_photo_readings_both_run_on_a_reading_thread_never_the_event_loop(client):
    canvas = two_blobs()  # the page's request
    small = Image.open(io.BytesIO(canvas))
    paper = Image.alpha_composite(Image.new("RGBA", small.size, "white"), small.convert("RGBA")).convert("RGB")
    photo = png(paper.resize((small.width * 4, small.height * 4)))  # 627,200 pixels
    loop_thread = client.portal.call(lambda: threading.current_thread().name)  # the event loop's thread
    threads = {}
    for name, body in (("canvas", canvas), ("photo", photo)):
        fake = FakeRecognizer()
        client.app.dependency_overrides[get_recognizer] = lambda: fake
        try:
            response = client.post("/api/v1/recognize", content=body, headers={"Content-Type": "image/png"})
        finally:
            client.app.dependency_overrides.clear()
        assert response.json()["text"] == "44", name
        threads[name] = fake.threads
    (photo_thread,), (canvas_thread,) = threads["photo"], threads["canvas"]
    assert photo_thread.startswith(READING_THREAD) and canvas_thread.startswith(READING_THREAD)
    assert loop_thread not in (photo_thread, canvas_thread)


class StalledRecognizer(FakeRecognizer):
    """A reading that takes as long as the test wants: it waits in the network until ``release`` is set."""

    def __init__(self):
        super().__init__()
        self.entered, self.release = threading.Event(), threading.Event()

    def probabilities(self, images):
        self.entered.set()
        assert self.release.wait(10), "the test never released the stalled reading"
        return super().probabilities(images)


def test_a_stalled_reading_holds_up_neither_the_probes_nor_the_next_canvas(settings, tmp_path):
    """One slow image must not stall the event loop (probes) or the page's next request (a free reading thread)."""
    import concurrent.futures

    stalled, quick = StalledRecognizer(), FakeRecognizer()
    slow_settings = Settings(**{**settings.__dict__, "feedback_db": tmp_path / "fb.db", "reading_threads": 2})
    with TestClient(create_app(slow_settings, recognizer=quick)) as c, \
            concurrent.futures.ThreadPoolExecutor(1) as pool:
        c.app.dependency_overrides[get_recognizer] = lambda: stalled
        slow = pool.submit(c.post, "/api/v1/recognize", content=two_blobs(), headers={"Content-Type": "image/png"})
        try:
            assert stalled.entered.wait(20)  # the slow reading holds one reading thread now
            c.app.dependency_overrides[get_recognizer] = lambda: quick
            assert c.get("/healthz").json() == {"status": "ok"}
            assert c.get("/readyz").status_code == 200
            assert not slow.done()
            page = c.post("/api/v1/recognize", content=two_blobs(), headers={"Content-Type": "image/png"})
            assert page.status_code == 200 and page.json()["text"] == "44" and not slow.done()
        finally:
            stalled.release.set()
        assert slow.result(timeout=20).json()["text"] == "44"


# ---------------------------------------------------------------- feedback


def test_feedback_is_stored(client, data_dir, settings):
    body, _ = mnist_strip(data_dir, [0])
    read = client.post("/api/v1/recognize?include_inputs=true", content=body, headers={"Content-Type": "image/png"}).json()
    import base64

    model_input = base64.b64decode(read["digits"][0]["input"].split(",", 1)[1])
    response = client.post("/api/v1/feedback", files={"image": ("d.png", model_input, "image/png")},
                           data={"label": "1", "predicted": str(read["digits"][0]["digit"])})
    assert response.status_code == 201
    out = FeedbackOut.model_validate(response.json())
    assert out.label == 1 and out.total >= 1
    raw = client.post("/api/v1/feedback?label=9", content=body, headers={"Content-Type": "image/png"})
    assert raw.status_code == 201 and raw.json()["total"] == out.total + 1
    from handwritten_digits.server.feedback import FeedbackStore

    images, labels = FeedbackStore(settings.feedback_db).samples()
    assert images.shape[1:] == (28, 28) and list(labels[-2:]) == [1, 9]
    stored = images[-2]
    sent = np.asarray(Image.open(io.BytesIO(model_input)), dtype=np.float32) / 255
    assert np.abs(stored - sent).max() < 1 / 255 + 1e-6  # the 28x28 input is kept as the model saw it


@pytest.mark.parametrize("query", ["", "?label=12", "?label=x"])
def test_feedback_needs_a_valid_label(client, query):
    response = client.post(f"/api/v1/feedback{query}", content=two_blobs(), headers={"Content-Type": "image/png"})
    assert response.status_code == 422


def test_workers_read_settings_from_the_environment(settings):
    env = settings.to_env()
    back = Settings.from_env(env)
    assert back == settings
    assert Settings.from_env(env, port=9999).port == 9999
    with pytest.raises(DigitsError):
        Settings.from_env({"DIGITS_PORT": "eighty"})
    assert Settings.from_env({"DIGITS_READING_THREADS": "3"}).reading_threads == 3
    with pytest.raises(DigitsError):
        Settings.from_env({"DIGITS_READING_THREADS": "0"})  # the event loop never reads: at least one thread


def test_serve_with_two_workers_passes_settings_to_each(tmp_path):
    """``digits serve --workers 2``: uvicorn's factory mode, settings travel to the workers by environment."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "handwritten_digits", "serve", "--port", str(port), "--workers", "2",
           "--model", model_path(), "--max-bytes", "1000", "--feedback-db", str(tmp_path / "fb.db"), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/readyz", timeout=2)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
                time.sleep(0.3)
        statuses = set()
        for _ in range(6):  # both workers answer; each must apply --max-bytes
            request = urllib.request.Request(url + "/api/v1/recognize", data=b"\0" * 2000,
                                             headers={"Content-Type": "image/png"}, method="POST")
            try:
                urllib.request.urlopen(request, timeout=10)
            except urllib.error.HTTPError as exc:
                statuses.add(exc.code)
        assert statuses == {413}
        small = urllib.request.Request(url + "/api/v1/recognize", data=two_blobs()[:900],
                                       headers={"Content-Type": "image/png"}, method="POST")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(small, timeout=10)
        assert info.value.code == 422
    finally:
        import signal

        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
