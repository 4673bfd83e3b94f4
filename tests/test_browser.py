"""End to end in real headless Chromium (Debian's): draw digits with the mouse, upload a photo, correct a digit.

A real ``digits serve`` runs on a free loopback port; Playwright drives /usr/bin/chromium.
Screenshots go to test-artifacts/ (look at them: the page must look like a product).
"""

from __future__ import annotations

import io
import math
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from handwritten_digits import modelcard
from handwritten_digits.errors import DigitsError
from handwritten_digits.server.settings import Settings

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions"]


def model_path() -> str:
    try:
        return str(modelcard.resolve(os.environ.get("DIGITS_TEST_MODEL") or Settings().model))
    except DigitsError as exc:
        pytest.skip(f"no model to serve: {exc}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``digits serve`` in its own process on 127.0.0.1; yields (base URL, feedback db)."""
    port = free_port()
    db = tmp_path_factory.mktemp("browser") / "feedback.db"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "handwritten_digits", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--model", model_path(), "--feedback-db", str(db), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("server did not start:\n" + proc.stdout.read().decode(errors="replace"))
        time.sleep(0.2)
    yield url, db
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make system-deps)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, device_scale_factor=1)
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(server[0] + "/")
    pg.wait_for_selector("#pad")
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


# ---------------------------------------------------------------- drawing helpers


def to_page(pg, x, y):
    """Logical canvas units (560 x 280) to page pixels."""
    box = pg.locator("#pad").bounding_box()
    return box["x"] + x * box["width"] / 560, box["y"] + y * box["height"] / 280


def stroke(pg, points, steps=3):
    """One pen stroke through ``points`` (logical units), pressing, moving and releasing the mouse."""
    pg.mouse.move(*to_page(pg, *points[0]))
    pg.mouse.down()
    for p in points[1:]:
        pg.mouse.move(*to_page(pg, *p), steps=steps)
    pg.mouse.up()


def arc(cx, cy, rx, ry, start, end, n=14):
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(start, end, n)]


def seven(dx=0):
    return [[(dx + 60, 55), (dx + 200, 55), (dx + 115, 235)]]


def three(dx=0):
    upper = arc(dx + 140, 100, 50, 45, -160, 90)
    lower = arc(dx + 140, 185, 58, 50, -90, 160)
    return [upper + lower[1:]]


def one(dx=0):
    return [[(dx + 140, 45), (dx + 140, 240)]]


def raster_strokes(image, x0, y0, cell):
    """An MNIST digit as pen strokes: every horizontal run of ink in each pixel row becomes one stroke."""
    strokes = []
    for row in range(image.shape[0]):
        ink = np.r_[False, image[row] > 0.5, False]
        edges = np.flatnonzero(np.diff(ink.astype(np.int8)))
        for start, stop in zip(edges[::2], edges[1::2]):
            y = y0 + (row + 0.5) * cell
            strokes.append([(x0 + (start + 0.5) * cell, y), (x0 + (stop - 0.5) * cell + 0.01, y)])
    return strokes


def number_shown(pg, expected, timeout=15_000):
    from playwright.sync_api import expect

    expect(pg.locator("#number")).to_have_text(expected, timeout=timeout)


def screenshot(pg, path):
    """Once the last request has answered (the status shows its time), so the picture is settled."""
    from playwright.sync_api import expect

    expect(pg.locator("#status")).to_contain_text("read in", timeout=15_000)
    pg.screenshot(path=str(path), full_page=True)


# ---------------------------------------------------------------- tests


def test_draw_seven_then_three_reads_73(page, artifacts_dir):
    for s in seven(0):
        stroke(page, s)
    number_shown(page, "7")
    for s in three(280):
        stroke(page, s)
    number_shown(page, "73")
    assert page.locator("#digits > li").count() == 2
    assert page.locator("#digits .seen").first.get_attribute("src").startswith("data:image/png;base64,")
    assert page.locator("#digits .bar.top .k").first.inner_text() == "7"
    screenshot(page, artifacts_dir / "browser-draw-73.png")

    page.get_by_role("button", name="Undo").click()  # the 3 goes
    number_shown(page, "7")
    page.keyboard.press("Escape")  # clear
    number_shown(page, "—")
    assert page.get_by_role("button", name="Undo").is_disabled()


def test_recognition_runs_while_the_pen_is_down(page):
    points = one(0)[0]
    page.mouse.move(*to_page(page, *points[0]))
    page.mouse.down()
    page.mouse.move(*to_page(page, *points[1]), steps=12)
    number_shown(page, "1", timeout=10_000)  # read before the stroke ends
    page.mouse.up()


def test_mnist_digits_drawn_stroke_by_stroke(page, data_dir, artifacts_dir):
    from handwritten_digits.data import load_dataset

    images, labels = load_dataset("test", data_dir=data_dir)
    picks = [0, 1, 2]  # MNIST test digits 7, 2, 1
    cell = 170 / 28
    for slot, index in enumerate(picks):
        for s in raster_strokes(images[index], 20 + slot * 180, 55, cell):
            stroke(page, s, steps=1)
    expected = "".join(str(int(labels[i])) for i in picks)
    number_shown(page, expected)
    screenshot(page, artifacts_dir / "browser-mnist-strokes.png")


def photo_of_digits(data_dir, indices) -> tuple[bytes, str]:
    """A photo-like JPEG: MNIST digits in blue ink on unevenly lit paper, with sensor noise."""
    from PIL import Image, ImageFilter

    from handwritten_digits.data import load_dataset

    images, labels = load_dataset("test", data_dir=data_dir)
    rng = np.random.default_rng(1)
    height, width = 420, 300 + 200 * len(indices)
    yy, xx = np.mgrid[:height, :width]
    paper = 0.93 - 0.10 * (xx / width) - 0.05 * (yy / height)  # light falls off across the sheet
    ink = np.zeros((height, width), np.float32)
    for slot, index in enumerate(indices):
        digit = np.asarray(Image.fromarray((images[index] * 255).astype(np.uint8)).resize((160, 160), Image.BICUBIC)) / 255
        top, left = 110 + int(rng.integers(-25, 25)), 150 + slot * 200
        ink[top:top + 160, left:left + 160] = np.maximum(ink[top:top + 160, left:left + 160], digit)
    gray = paper * (1 - 0.8 * ink)
    rgb = np.stack([gray * 0.97, gray * 0.97, gray * 1.0 + 0.15 * ink], axis=-1)  # blue-ish ballpoint
    rgb = np.clip(rgb + rng.normal(0, 0.015, rgb.shape), 0, 1)
    img = Image.fromarray((rgb * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.0))
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue(), "".join(str(int(labels[i])) for i in indices)


def test_upload_a_photo_shows_boxes_and_text(page, data_dir, tmp_path, artifacts_dir):
    data, expected = photo_of_digits(data_dir, [3, 4, 5, 6])
    photo = tmp_path / "digits-on-paper.jpg"
    photo.write_bytes(data)
    page.set_input_files("#file", str(photo))
    number_shown(page, expected)
    boxes = page.locator("#boxes .box")
    assert boxes.count() == len(expected)
    assert [boxes.nth(i).inner_text() for i in range(boxes.count())] == list(expected)
    img = page.locator("#photo").bounding_box()
    first, last = boxes.first.bounding_box(), boxes.last.bounding_box()
    assert img["x"] <= first["x"] < last["x"] <= img["x"] + img["width"]  # boxes sit on the photo, left to right
    screenshot(page, artifacts_dir / "browser-photo.png")


def test_correction_is_stored(page, server, artifacts_dir):
    for s in seven(0):
        stroke(page, s)
    number_shown(page, "7")
    page.get_by_role("button", name="That's wrong").first.click()
    page.get_by_role("button", name="it is 1").wait_for()
    screenshot(page, artifacts_dir / "browser-correction-keys.png")
    page.get_by_role("button", name="it is 1").click()
    page.wait_for_selector(".thanks")
    screenshot(page, artifacts_dir / "browser-feedback.png")
    with sqlite3.connect(server[1]) as conn:
        rows = conn.execute("SELECT label, predicted, length(image) FROM feedback").fetchall()
    assert (1, 7) in [(label, predicted) for label, predicted, _ in rows]


def test_phone_layout_and_keyboard(browser, server, artifacts_dir):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    pg = context.new_page()
    pg.goto(server[0] + "/")
    pad = pg.locator("#pad")
    assert pad.evaluate("el => getComputedStyle(el).touchAction") == "none"  # drawing never scrolls the page
    width = pg.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width}px wide on a 390px phone"
    for s in seven(0) + three(280):
        stroke(pg, s)
    number_shown(pg, "73")
    screenshot(pg, artifacts_dir / "browser-phone.png")
    # keyboard: Tab reaches the controls, Enter on Clear clears
    pg.locator("#clear").focus()
    pg.keyboard.press("Enter")
    number_shown(pg, "—")
    context.close()


def test_drop_and_paste_an_image(page, data_dir):
    import base64

    data, expected = photo_of_digits(data_dir, [7, 8])
    page.evaluate(
        """([b64]) => {  // a file dropped on the drawing area
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], "dropped.jpg", { type: "image/jpeg" }));
            const drop = new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true });
            document.getElementById("drop-zone").dispatchEvent(drop);
        }""",
        [base64.b64encode(data).decode()],
    )
    number_shown(page, expected)
    assert page.locator("#tab-photo").get_attribute("aria-selected") == "true"
    assert page.locator("#boxes .box").count() == len(expected)

    other, expected2 = photo_of_digits(data_dir, [9, 10, 11])
    page.get_by_role("tab", name="Draw").click()
    number_shown(page, "—")
    page.evaluate(
        """([b64]) => {  // an image pasted anywhere on the page
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], "pasted.jpg", { type: "image/jpeg" }));
            document.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }));
        }""",
        [base64.b64encode(other).decode()],
    )
    number_shown(page, expected2)
