"""Hostile and careless clients: each fault of issue 16, measured against the app and a real uvicorn.

Hang-ups and slow bodies need a real server (the test client never disconnects or stalls): those tests
run uvicorn in a thread on a free port and talk raw HTTP over a socket. A fake recognizer keeps them
fast; the reading path is the real one.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import threading
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx2")
uvicorn = pytest.importorskip("uvicorn")
from fastapi.testclient import TestClient  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from handwritten_digits.server import app as app_module  # noqa: E402
from handwritten_digits.commands.serve import HTTP_PROTOCOL  # noqa: E402
from handwritten_digits.server.app import READING_THREAD, create_app  # noqa: E402
from handwritten_digits.server.settings import Settings  # noqa: E402
from test_api import FakeRecognizer, bomb_png, two_blobs  # noqa: E402


def make_app(tmp_path, **overrides):
    return create_app(Settings(feedback_db=tmp_path / "fb.db", **overrides), recognizer=FakeRecognizer())


@contextlib.contextmanager
def live_server(app, **config):
    """uvicorn serving ``app`` in a thread on a free port, as ``digits serve`` runs it; logs go to pytest."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", http=HTTP_PROTOCOL,
                                          **config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def raw_post(port: int, path: str, declared: int, body: bytes, content_type: str = "image/png") -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.sendall(f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\n"
                 f"Content-Length: {declared}\r\n\r\n".encode() + body)
    return conn


def read_all(conn: socket.socket) -> bytes:
    out = b""
    while chunk := conn.recv(65536):
        out += chunk
    return out


def wait_for(predicate, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def server_records(caplog):
    """Records a running server logged at INFO or above (start-up lines are cleared before each test step)."""
    return [r for r in caplog.records if r.levelno >= logging.INFO]


# ---------------------------------------------------------------- hang-ups and slow bodies


def test_disconnect_mid_upload_logs_one_line_and_no_traceback(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    with live_server(make_app(tmp_path)) as port:
        caplog.clear()
        conn = raw_post(port, "/api/v1/recognize", declared=100_000, body=two_blobs()[:500])
        time.sleep(0.3)  # the route is reading the body now
        conn.close()
        wait_for(lambda: server_records(caplog))
        time.sleep(0.5)  # anything else the server would log about it comes now
        records = server_records(caplog)
    assert len(records) == 1, [r.getMessage() for r in records]
    assert "disconnected" in records[0].getMessage() and records[0].exc_info is None
    assert "Traceback" not in caplog.text


def test_short_body_is_timed_out_with_408_and_one_line(tmp_path, caplog):
    """``Content-Length: 1000`` then 10 bytes, the connection held open: 408 after body_timeout, closed."""
    caplog.set_level(logging.INFO)
    with live_server(make_app(tmp_path, body_timeout=0.5)) as port:
        caplog.clear()
        start = time.monotonic()
        conn = raw_post(port, "/api/v1/recognize", declared=1000, body=b"\x89PNG\r\n\x1a\n\0\0")
        answer = read_all(conn)  # returns once the server closes the connection
        elapsed = time.monotonic() - start
        conn.close()
        records = server_records(caplog)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"detail":"request body not received within 0.5 s"' in answer
    assert 0.4 < elapsed < 5
    assert len(records) == 1 and "408" in records[0].getMessage() and records[0].exc_info is None


def test_trickled_body_is_timed_out(tmp_path):
    """A body sent a byte at a time, each in time but the whole too slow, is cut off too."""
    with live_server(make_app(tmp_path, body_timeout=0.6)) as port:
        conn = raw_post(port, "/api/v1/recognize", declared=1000, body=b"")
        conn.settimeout(0.1)
        answer = b""
        for _ in range(50):
            try:
                conn.sendall(b"\0")
                answer += conn.recv(65536)
            except (TimeoutError, OSError):
                pass
            if answer:
                break
        conn.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


def test_idle_keep_alive_connection_is_closed(tmp_path):
    with live_server(make_app(tmp_path), timeout_keep_alive=0.3) as port:
        conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        assert conn.recv(65536).startswith(b"HTTP/1.1 200")
        start = time.monotonic()
        assert conn.recv(65536) == b""  # closed by the server, not by our 5 s timeout
        assert time.monotonic() - start < 3
        conn.close()


@pytest.mark.parametrize("head", [b"", b"GET /healthz HTTP/1.1\r\nHost: test\r\n"], ids=["silent", "half-head"])
def test_connection_without_a_complete_request_head_is_closed(tmp_path, caplog, head):
    """A client that connects and sends nothing, or half its headers, never reaches the app: the protocol
    closes it after the idle timeout (uvicorn alone would keep it open for ever)."""
    if HTTP_PROTOCOL == "auto":
        pytest.skip("httptools is not installed: uvicorn's h11 protocol as it is")
    caplog.set_level(logging.INFO)
    with live_server(make_app(tmp_path), timeout_keep_alive=0.3) as port:
        caplog.clear()
        conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        conn.sendall(head)
        start = time.monotonic()
        assert conn.recv(65536) == b""
        assert time.monotonic() - start < 3
        conn.close()
        time.sleep(0.1)
        records = server_records(caplog)
    assert len(records) == 1 and "no complete request head" in records[0].getMessage()


def test_serve_passes_the_timeouts_to_uvicorn(monkeypatch, tmp_path):
    import argparse

    from handwritten_digits.commands import serve
    from handwritten_digits.runtime import Recognizer

    seen = {}
    monkeypatch.setattr(Recognizer, "load", classmethod(lambda cls, *a, **k: FakeRecognizer()))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(kwargs, app=app))
    monkeypatch.setattr(app_module, "tune_process", lambda threads=1: None)
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    args = parser.parse_args(["--idle-timeout", "7.5", "--body-timeout", "12", "--feedback-db", str(tmp_path / "f.db")])
    assert serve.run(args) == 0
    assert seen["timeout_keep_alive"] == 7.5 and seen["http"] == HTTP_PROTOCOL and seen["app"].state.settings.body_timeout == 12.0
    assert seen["log_config"]["loggers"]["handwritten_digits"]["level"] == "INFO"  # the app's one-liners are shown


def test_timeouts_come_from_the_environment():
    from handwritten_digits.errors import DigitsError

    settings = Settings.from_env({"DIGITS_BODY_TIMEOUT": "2.5", "DIGITS_IDLE_TIMEOUT": "1"})
    assert (settings.body_timeout, settings.idle_timeout) == (2.5, 1.0)
    assert Settings.from_env(settings.to_env()) == settings
    for bad in ("0", "-1", "soon", "inf", "nan"):
        with pytest.raises(DigitsError):
            Settings.from_env({"DIGITS_BODY_TIMEOUT": bad})


# ---------------------------------------------------------------- errors are one line, as documented


@pytest.mark.parametrize("method, url, kwargs", [
    ("post", "/api/v1/recognize?min_confidence=abc", {"content": b"x", "headers": {"Content-Type": "image/png"}}),
    ("post", "/api/v1/recognize?single=maybe&min_confidence=7", {"content": b"x", "headers": {"Content-Type": "image/png"}}),
    ("post", "/api/v1/feedback?label=12", {"content": b"x", "headers": {"Content-Type": "image/png"}}),
    ("post", "/api/v1/feedback", {"files": {"image": ("a.png", b"x", "image/png")}, "data": {"label": "4", "extra": "1"}}),
    ("post", "/api/v1/recognize", {"content": b'{"image": 1', "headers": {"Content-Type": "application/json"}}),
    ("post", "/api/v1/recognize", {"content": b"--x\r\nbroken", "headers": {"Content-Type": "multipart/form-data; boundary=x"}}),
    ("get", "/api/v1/nothing", {}),
    ("put", "/api/v1/recognize", {}),
])
def test_every_error_detail_is_one_line_of_text(tmp_path, method, url, kwargs):
    with TestClient(make_app(tmp_path)) as client:
        response = getattr(client, method)(url, **kwargs)
    assert 400 <= response.status_code < 500
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail and "\n" not in detail, detail


def test_feedback_label_is_documented_as_required(tmp_path):
    with TestClient(make_app(tmp_path)) as client:
        spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/v1/feedback"]["post"]
    form = op["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert set(form["required"]) == {"image", "label"}
    assert not any(p["name"] == "label" for p in op.get("parameters", []))  # no optional twin in the query
    for path, methods in spec["paths"].items():
        for response in (r for m in methods.values() for r in m["responses"].values()):
            assert "HTTPValidationError" not in str(response), path  # 422 is schemas.Error everywhere


# ---------------------------------------------------------------- /docs and /redoc offline


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_load_only_local_files(tmp_path, page):
    import re

    with TestClient(make_app(tmp_path)) as client:
        html = client.get(page)
        assert html.status_code == 200
        assert "http://" not in html.text and "https://" not in html.text and "//cdn" not in html.text
        urls = re.findall(r"""(?:src|href)=["']([^"']+)""", html.text) + re.findall(r"url: ?'([^']+)'", html.text)
        assert any(u.endswith(".js") for u in urls), urls
        for url in urls + ["/openapi.json"]:
            assert url.startswith("/"), url
            assert client.get(url).status_code == 200, url


# ---------------------------------------------------------------- iPhone photos


def test_heic_photo_is_read(tmp_path):
    """iPhone photos are HEIC by default: read like any other image (pillow-heif's opener in decode.py)."""
    pillow_heif = pytest.importorskip("pillow_heif")
    from handwritten_digits.reading import decode as decoding

    if "HEIF" not in decoding.FORMATS:
        pytest.skip("decode.py does not read HEIC yet (issue 16: FORMATS and the opener registration)")
    img = Image.open(io.BytesIO(two_blobs()))
    paper = Image.alpha_composite(Image.new("RGBA", img.size, "white"), img.convert("RGBA")).convert("RGB")
    buffer = io.BytesIO()
    pillow_heif.from_pillow(paper).save(buffer, quality=90)
    with TestClient(make_app(tmp_path)) as client:
        response = client.post("/api/v1/recognize", content=buffer.getvalue(), headers={"Content-Type": "image/heic"})
    assert response.status_code == 200, response.text
    assert response.json()["text"] == "44" and (response.json()["width"], response.json()["height"]) == img.size


# ---------------------------------------------------------------- one bounded reader for every route


def photo_png(side: int) -> bytes:
    img = Image.new("L", (side, side), 255)
    ImageDraw.Draw(img).line([(side // 3, side // 5), (side // 3, side * 4 // 5)], fill=0, width=max(3, side // 12))
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def test_feedback_applies_the_pixel_limit(tmp_path):
    with TestClient(make_app(tmp_path, max_pixels=100 * 100)) as client:
        for body in (bomb_png(), photo_png(200)):
            response = client.post("/api/v1/feedback", files={"image": ("a.png", body, "image/png")}, data={"label": "1"})
            assert response.status_code == 422 and "too large" in response.json()["detail"]
        ok = client.post("/api/v1/feedback", files={"image": ("a.png", photo_png(90), "image/png")}, data={"label": "1"})
        assert ok.status_code == 201


def test_feedback_decodes_on_the_bounded_reading_threads(tmp_path, monkeypatch):
    """Eight corrections at once: at most ``reading_threads`` decode at a time, never on the event loop."""
    import concurrent.futures

    real, lock = app_module.feedback_input, threading.Lock()
    state = {"now": 0, "most": 0, "threads": set()}

    def watched(data, max_pixels):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
            state["threads"].add(threading.current_thread().name)
        try:
            time.sleep(0.05)  # long enough for the others to pile up
            return real(data, max_pixels)
        finally:
            with lock:
                state["now"] -= 1

    monkeypatch.setattr(app_module, "feedback_input", watched)
    body = photo_png(400)
    with TestClient(make_app(tmp_path, reading_threads=2)) as client, concurrent.futures.ThreadPoolExecutor(8) as pool:
        post = lambda _: client.post("/api/v1/feedback", files={"image": ("a.png", body, "image/png")},  # noqa: E731
                                     data={"label": "1"})
        statuses = [r.status_code for r in pool.map(post, range(8))]
    assert statuses == [201] * 8
    assert state["most"] == 2
    assert all(name.startswith(READING_THREAD) for name in state["threads"]), state["threads"]
