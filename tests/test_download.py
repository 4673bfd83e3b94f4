"""Download against a real HTTP server on loopback: never the internet."""

import gzip
import hashlib
import http.server
import threading

import numpy as np
import pytest

from handwritten_digits.data import idx
from handwritten_digits.data.download import download_mnist
from handwritten_digits.errors import DigitsError

STEMS = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def _files():
    rng = np.random.default_rng(0)
    raw = {s: idx.encode(rng.integers(0, 255, (20, 28, 28) if "images" in s else (20,), dtype=np.uint8)) for s in STEMS}
    return raw, {s: hashlib.sha256(b).hexdigest() for s, b in raw.items()}


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict = {}
    mode = "ok"

    def do_GET(self):  # noqa: N802
        body = self.files.get(self.path.rsplit("/", 1)[-1])
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.mode == "drop":
            self.wfile.write(body[: len(body) // 2])  # then close: a dropped connection
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    servers = []

    def start(files, mode="ok"):
        handler = type("H", (_Handler,), {"files": files, "mode": mode})
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/mnist/"

    yield start
    for httpd in servers:
        httpd.shutdown()


def test_download_verifies_and_writes(server, tmp_path):
    raw, sums = _files()
    url = server({f"{s}.gz": gzip.compress(b) for s, b in raw.items()})
    folder = download_mnist(tmp_path / "mnist", checksums=sums, bases=[url])
    for stem in STEMS:
        assert idx.read_bytes(folder / f"{stem}.gz") == raw[stem]
    assert not list(folder.glob(".*tmp"))


def test_dropped_connection_falls_back_to_next_mirror(server, tmp_path):
    raw, sums = _files()
    files = {f"{s}.gz": gzip.compress(b) for s, b in raw.items()}
    broken, good = server(files, mode="drop"), server(files)
    folder = download_mnist(tmp_path / "m", checksums=sums, bases=[broken, good])
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{s}.gz" for s in STEMS)


def test_dropped_connection_everywhere_leaves_nothing(server, tmp_path):
    raw, sums = _files()
    url = server({f"{s}.gz": gzip.compress(b) for s, b in raw.items()}, mode="drop")
    with pytest.raises(DigitsError, match="could not download"):
        download_mnist(tmp_path / "m", checksums=sums, bases=[url])
    assert list((tmp_path / "m").iterdir()) == []


def test_corrupted_file_is_rejected(server, tmp_path):
    raw, sums = _files()
    files = {f"{s}.gz": gzip.compress(b) for s, b in raw.items()}
    first = STEMS[0]
    files[f"{first}.gz"] = gzip.compress(raw[first][:-1] + b"\x01")  # one byte changed
    url = server(files)
    with pytest.raises(DigitsError, match="checksum mismatch"):
        download_mnist(tmp_path / "m", checksums=sums, bases=[url])
    assert not (tmp_path / "m" / f"{first}.gz").exists()


def test_load_dataset_download_uses_env_mirrors(server, tmp_path, monkeypatch):
    raw, sums = _files()
    url = server({f"{s}.gz": gzip.compress(b) for s, b in raw.items()})
    monkeypatch.setenv("DIGITS_MNIST_MIRRORS", f"http://127.0.0.1:1/nothing/ {url}")  # first mirror refuses
    monkeypatch.setattr("handwritten_digits.data.download.SHA256", sums)
    monkeypatch.delenv("DIGITS_DATA_DIR", raising=False)
    from handwritten_digits.data import load_dataset

    images, labels = load_dataset("test", data_dir=tmp_path / "dl", download=True)
    assert images.shape == (20, 28, 28) and labels.dtype == np.int64
    np.testing.assert_allclose(images, np.frombuffer(raw[STEMS[2]][16:], np.uint8).reshape(20, 28, 28) / 255.0, atol=1e-6)


def test_no_download_unless_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITS_MNIST_MIRRORS", "http://127.0.0.1:1/never/")
    monkeypatch.delenv("DIGITS_DATA_DIR", raising=False)
    monkeypatch.setattr("handwritten_digits.data.mnist.CACHE", tmp_path / "cache")
    from handwritten_digits.data import load_dataset

    with pytest.raises(DigitsError, match="put the four IDX files"):
        load_dataset("test", data_dir=tmp_path / "empty")
    assert not (tmp_path / "empty").exists()
