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
    numbers = page.locator("#boxes .box.number-box")  # one number: one box, its digits faintly inside
    assert numbers.count() == 1 and numbers.first.inner_text() == expected
    boxes = page.locator("#boxes .box.digit-box")
    assert boxes.count() == len(expected)
    img, around = page.locator("#photo").bounding_box(), numbers.first.bounding_box()
    first, last = boxes.first.bounding_box(), boxes.last.bounding_box()
    assert img["x"] <= first["x"] < last["x"] <= img["x"] + img["width"]  # boxes sit on the photo, left to right
    assert around["x"] <= first["x"] + 1 and last["x"] + last["width"] <= around["x"] + around["width"] + 1
    assert page.locator("#number .num").count() == 0  # nothing to choose between: the digits are all shown
    assert page.locator("#digits > li").count() == len(expected)
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
    assert page.locator("#boxes .box.number-box").count() == 1
    assert page.locator("#boxes .box.digit-box").count() == len(expected)

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


# ---------------------------------------------------------------- issue 16: speed, keyboard, photos, audit

# Every change of the reading on screen, with its time (performance.now()) and whether it is settled.
READINGS_LOG = """() => {
    window.__readings = [];
    const number = document.getElementById("number");
    new MutationObserver(() => window.__readings.push({
        t: performance.now(), text: number.textContent, settled: number.dataset.settled === "true",
        summary: document.getElementById("summary").textContent,
    })).observe(number, { childList: true, characterData: true, subtree: true, attributes: true,
                          attributeFilter: ["data-settled"] });
    window.addEventListener("pointerup", () => { window.__penUp = performance.now(); }, true);
}"""


def settled(pg, timeout=15_000):
    pg.wait_for_function("document.getElementById('number').dataset.settled === 'true'", timeout=timeout)


def delay_readings(pg, ms):
    """Hold every reply of /recognize for ``ms`` in the page, as a slow server or network would."""
    pg.evaluate("""(ms) => {
        const real = window.fetch.bind(window);
        window.fetch = async (url, opts) => {
            const res = await real(url, opts);
            if (String(url).includes("/recognize")) await new Promise((r) => setTimeout(r, ms));
            return res;
        };
    }""", ms)


def record_uploads(pg):
    """Keep what the page sends to /recognize: content type, size and pixel size of each body."""
    pg.evaluate("""() => {
        window.__sent = [];
        const real = window.fetch.bind(window);
        window.fetch = async (url, opts) => {
            if (String(url).includes("/recognize")) {
                const blob = new Blob([opts.body]);
                const bitmap = await createImageBitmap(blob, { imageOrientation: "none" });
                window.__sent.push({ type: opts.headers["Content-Type"], size: blob.size,
                                     width: bitmap.width, height: bitmap.height });
            }
            return real(url, opts);
        };
    }""")


def sent(pg, timeout=30_000) -> dict:
    pg.wait_for_function("window.__sent.length > 0", timeout=timeout)
    return pg.evaluate("window.__sent[window.__sent.length - 1]")


def focus_visible(pg) -> dict:
    return pg.evaluate("""() => { const el = document.activeElement, s = getComputedStyle(el);
        const r = el.getBoundingClientRect();
        return { id: el.id, visible: el.matches(':focus-visible'), outline: s.outlineStyle, width: s.outlineWidth,
                 w: r.width, h: r.height }; }""")


def test_reading_is_on_screen_right_after_pen_up(page):
    page.evaluate(READINGS_LOG)
    times = []
    for dx in (0, 280):
        page.evaluate("window.__readings = []")
        for s in (seven(dx) if dx == 0 else one(dx)):
            stroke(page, s, steps=8)
        settled(page)
        first = page.evaluate("window.__readings.find((r) => r.t >= window.__penUp && r.settled)")
        times.append(first["t"] - page.evaluate("window.__penUp"))
    number_shown(page, "71")
    # the goal is 50 ms (benchmarks/bench_browser.py); a loaded CI machine gets slack, not a 1 s stall
    assert max(times) < 400, f"pen-up to reading: {times} ms"


def test_stale_reading_never_comes_back_after_escape(page):
    page.evaluate(READINGS_LOG)
    delay_readings(page, 600)
    for s in seven(0):
        stroke(page, s)            # its reading is on its way, 600 ms late
    page.keyboard.press("Escape")  # the drawing goes before the answer comes
    number_shown(page, "—")
    page.evaluate("window.__readings = []")
    page.wait_for_timeout(1200)
    assert page.evaluate("window.__readings.map((r) => r.text)") == []  # the 7 never appears
    assert page.locator("#number").inner_text() == "—"
    # and after Escape, a new drawing shows its own reading only
    for s in one(0):
        stroke(page, s)
    number_shown(page, "1")
    page.wait_for_timeout(800)
    assert "7" not in "".join(page.evaluate("window.__readings.map((r) => r.text)"))


def test_switching_tabs_keeps_the_reading(page):
    for s in seven(0):
        stroke(page, s)
    number_shown(page, "7")
    settled(page)
    page.get_by_role("tab", name="Photo").click()
    number_shown(page, "—")  # the empty Photo tab has read nothing
    page.evaluate(READINGS_LOG)
    page.get_by_role("tab", name="Draw").click()
    number_shown(page, "7", timeout=100)  # at once: no round trip
    page.wait_for_timeout(300)
    log = page.evaluate("window.__readings")
    assert log and all(r["text"] == "7" and r["summary"] != "Nothing read yet." for r in log), log


def test_tabs_by_keyboard_only(page, data_dir, tmp_path, artifacts_dir):
    from playwright.sync_api import expect

    order = []
    for _ in range(8):  # Tab from the top of the page until the tab list
        page.keyboard.press("Tab")
        order.append(focus_visible(page))
        if order[-1]["id"] == "tab-draw":
            break
    assert order[-1]["id"] == "tab-draw", order
    assert order[-1]["visible"] and order[-1]["outline"] != "none", order[-1]
    assert "tab-photo" not in [o["id"] for o in order]
    assert page.locator("[role=tablist]").get_attribute("aria-label")
    assert page.locator("#tab-draw").get_attribute("tabindex") == "0"
    assert page.locator("#tab-photo").get_attribute("tabindex") == "-1"

    page.keyboard.press("ArrowRight")  # selection follows focus
    expect(page.locator("#tab-photo")).to_be_focused()
    expect(page.locator("#tab-photo")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#tab-draw")).to_have_attribute("aria-selected", "false")
    expect(page.locator("#photo-panel")).to_be_visible()
    assert page.locator("#tab-photo").get_attribute("tabindex") == "0"
    assert page.locator("#tab-draw").get_attribute("tabindex") == "-1"
    # the empty Photo tab: one call to action
    assert page.get_by_role("button", name="Choose").filter(visible=True).count() == 1
    page.keyboard.press("Tab")  # one tab stop for the tab list: the next stop is the visible button
    now = focus_visible(page)
    assert now["id"] == "choose" and now["visible"] and now["outline"] != "none" and now["w"] > 20, now
    page.screenshot(path=str(artifacts_dir / "browser-keyboard-photo-tab.png"), full_page=True)
    page.keyboard.press("Shift+Tab")
    expect(page.locator("#tab-photo")).to_be_focused()
    page.keyboard.press("Home")
    expect(page.locator("#tab-draw")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("End")
    expect(page.locator("#tab-photo")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#tab-draw")).to_be_focused()
    expect(page.locator("#draw-panel")).to_be_visible()
    page.keyboard.press("ArrowLeft")  # wraps round
    expect(page.locator("#tab-photo")).to_be_focused()

    # the file input is reached through the visible button, by keyboard
    data, expected = photo_of_digits(data_dir, [3, 4])
    photo = tmp_path / "keyboard.jpg"
    photo.write_bytes(data)
    expect(page.locator("#photo-panel")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator("#choose")).to_be_focused()
    # Enter on the visible button opens the hidden file input (its click is what opens the chooser; the native
    # chooser event itself proved flaky under a loaded suite, so the click is what is checked)
    page.evaluate("document.getElementById('file').addEventListener('click', (e) => { window.fileOpened = true; e.preventDefault(); })")
    page.keyboard.press("Enter")
    page.wait_for_function("window.fileOpened === true")
    page.set_input_files("#file", str(photo))
    number_shown(page, expected)
    expect(page.get_by_role("button", name="Choose another image…")).to_be_visible()
    assert page.locator("#choose").is_hidden()  # still one call to action


def test_example_images_can_be_tried(page):
    page.get_by_role("tab", name="Photo").click()
    page.get_by_role("button", name="2026").click()
    number_shown(page, "2026")
    settled(page)
    assert page.locator("#photo").evaluate("img => img.naturalWidth") > 0


def test_big_phone_photo_is_shrunk_and_read(page, data_dir, tmp_path, artifacts_dir):
    from PIL import Image

    data, expected = photo_of_digits(data_dir, [3, 4, 5])
    small = Image.open(io.BytesIO(data))
    big = Image.new("RGB", (6000, 5000), (236, 236, 240))
    big.paste(small.resize((6000, round(6000 * small.height / small.width)), Image.BICUBIC), (0, 1200))
    path = tmp_path / "phone-6000x5000.png"
    big.save(path, format="PNG", compress_level=1)
    assert path.stat().st_size > 0 and 6000 * 5000 > Settings().max_pixels  # the server alone refuses it
    page.get_by_role("tab", name="Photo").click()
    record_uploads(page)
    page.set_input_files("#file", str(path))
    body = sent(page)
    assert body["type"] in ("image/png", "image/jpeg")
    assert (body["width"], body["height"]) == (2000, 1667), body
    assert body["size"] < Settings().max_bytes
    number_shown(page, expected, timeout=30_000)
    assert "shrunk to 2000×1667" in page.locator("#photo-name").inner_text()
    screenshot(page, artifacts_dir / "browser-photo-shrunk.png")


def test_photo_orientation_is_honoured(page, data_dir, tmp_path):
    from PIL import Image

    data, expected = photo_of_digits(data_dir, [6, 7])
    upright = Image.open(io.BytesIO(data))
    upright = upright.resize((upright.width * 4, upright.height * 4), Image.BICUBIC)  # 4400 x 1680: shrunk
    sideways = upright.rotate(90, expand=True)  # stored turned; EXIF Orientation 6 says turn it back
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "sideways.jpg"
    sideways.save(path, format="JPEG", quality=90, exif=exif.tobytes())
    page.get_by_role("tab", name="Photo").click()
    record_uploads(page)
    page.set_input_files("#file", str(path))
    body = sent(page)
    assert body["width"] > body["height"] and max(body["width"], body["height"]) == 2000, body  # upright
    number_shown(page, expected, timeout=30_000)


def test_broken_upload_shows_a_one_line_error(page, tmp_path, artifacts_dir):
    from playwright.sync_api import expect

    broken = tmp_path / "holiday.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG " * 20)
    page.get_by_role("tab", name="Photo").click()
    page.set_input_files("#file", str(broken))
    error = page.locator("#photo-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Could not open “holiday.jpg”")
    line = error.evaluate("el => parseFloat(getComputedStyle(el).lineHeight) || 1.4 * parseFloat(getComputedStyle(el).fontSize)")
    assert error.bounding_box()["height"] < 2 * line + 20  # one line (plus padding)
    expect(page.locator("#photo")).to_be_hidden()
    broken_images = page.evaluate("""() => [...document.images].filter((i) => i.checkVisibility()
        && (!i.complete || i.naturalWidth === 0)).map((i) => i.id || i.src)""")
    assert broken_images == []
    expect(page.locator("#choose")).to_be_visible()  # try again from the same one call to action
    expect(page.locator("#summary")).to_have_text("Nothing read yet.")
    page.screenshot(path=str(artifacts_dir / "browser-photo-broken.png"), full_page=True)

    # a file that is not an image at all
    text = tmp_path / "notes.txt"
    text.write_text("1 2 3")
    page.set_input_files("#file", str(text))
    expect(error).to_contain_text("not an image")


def test_model_badge_names_the_model_without_mnist_accuracy(page, artifacts_dir):
    from playwright.sync_api import expect

    chip = page.locator("#model-chip")
    expect(chip).not_to_have_text("model: …")
    assert chip.inner_text().startswith("model: ") and "%" not in chip.inner_text()
    chip.focus()
    page.keyboard.press("Enter")  # a disclosure: keyboard and screen readers reach the details
    card = page.locator("#model-card")
    expect(card).to_be_visible()
    expect(card).to_contain_text("MNIST validation accuracy")
    page.screenshot(path=str(artifacts_dir / "browser-model-details.png"))


AXE_VERSION = "4.10"


def axe_script() -> str:
    """axe-core (MPL-2.0) from npm, installed once into a cache folder; $DIGITS_AXE_JS points at a copy."""
    if os.environ.get("DIGITS_AXE_JS"):
        return Path(os.environ["DIGITS_AXE_JS"]).read_text()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "handwritten-digits" / "axe-core"
    script = cache / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        import shutil

        if not shutil.which("npm"):
            pytest.skip("axe-core is not installed and npm is missing (set DIGITS_AXE_JS)")
        cache.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["npm", "install", "--prefix", str(cache), "--no-audit", "--no-fund", "--silent",
                               f"axe-core@~{AXE_VERSION}"], capture_output=True, text=True, timeout=180)
        if done.returncode or not script.exists():
            pytest.skip(f"could not install axe-core from npm: {done.stderr[-300:]}")
    return script.read_text()


def axe_serious(pg, script) -> list[str]:
    if not pg.evaluate("typeof window.axe !== 'undefined'"):
        pg.add_script_tag(content=script)
    result = pg.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_accessibility_audit(page, data_dir, tmp_path, artifacts_dir):
    script = axe_script()
    found = {}
    found["empty draw tab"] = axe_serious(page, script)
    for s in seven(0) + one(280):
        stroke(page, s)
    number_shown(page, "71")
    settled(page)
    page.get_by_role("button", name="That's wrong").first.click()
    found["drawing read, correction keys open"] = axe_serious(page, script)
    page.locator("#model-chip").click()
    found["model details open"] = axe_serious(page, script)
    page.locator("#model-chip").click()
    page.get_by_role("tab", name="Photo").click()
    found["empty photo tab"] = axe_serious(page, script)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    page.set_input_files("#file", str(broken))
    page.locator("#photo-error").wait_for()
    found["broken upload"] = axe_serious(page, script)
    data, expected = photo_of_digits(data_dir, [3, 4])
    photo = tmp_path / "ok.jpg"
    photo.write_bytes(data)
    page.set_input_files("#file", str(photo))
    number_shown(page, expected)
    found["photo read"] = axe_serious(page, script)
    # the reading is announced to screen readers once settled, not on every live update
    assert page.locator("[aria-live]").count() >= 1
    assert page.locator("#announce").inner_text() == "Read: " + " ".join(expected)
    data, expected = page_of_numbers(data_dir, TWO_LINES)
    page_photo = tmp_path / "page.jpg"
    page_photo.write_bytes(data)
    page.set_input_files("#file", str(page_photo))
    number_shown(page, expected)
    found["page of lines read"] = axe_serious(page, script)
    page.locator("#number .num").first.click()
    page.locator("#digits > li").first.wait_for()
    found["page of lines, a number selected"] = axe_serious(page, script)
    assert not any(found.values()), found


# ---------------------------------------------------------------- issues 14 and 16: lines of numbers on a page

# MNIST test digits by line, then number: 0 4 | 1 4 9 on the first line, 5 9 on the second
TWO_LINES = [[[3, 4], [5, 6, 7]], [[8, 9]]]


def page_of_numbers(data_dir, lines, cell=120) -> tuple[bytes, str]:
    """A photo-like JPEG of lines of numbers: MNIST digits in ink on lit paper; the text the reply should give."""
    from PIL import Image, ImageFilter

    from handwritten_digits.data import load_dataset

    images, labels = load_dataset("test", data_dir=data_dir)
    pitch, apart, rows = cell + 10, 3 * cell, int(1.6 * cell)  # digits close, numbers apart, lines apart
    widths = [sum(len(n) * pitch for n in line) + apart * (len(line) - 1) for line in lines]
    width, height = max(widths) + 2 * cell, rows * len(lines) + cell
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[:height, :width]
    paper = 0.93 - 0.08 * (xx / width) - 0.05 * (yy / height)
    ink = np.zeros((height, width), np.float32)
    for row, line in enumerate(lines):
        left = cell - cell // 2 * (row % 2)  # written by hand: the lines' digits do not stand in columns
        for number in line:
            for index in number:
                digit = np.asarray(Image.fromarray((images[index] * 255).astype(np.uint8))
                                   .resize((cell, cell), Image.BICUBIC)) / 255
                top = cell // 2 + row * rows + int(rng.integers(-6, 6))
                ink[top:top + cell, left:left + cell] = np.maximum(ink[top:top + cell, left:left + cell], digit)
                left += pitch + int(rng.integers(-8, 8))
            left += apart
    gray = paper * (1 - 0.8 * ink)
    rgb = np.stack([gray * 0.97, gray * 0.97, gray * 1.0 + 0.15 * ink], axis=-1)
    rgb = np.clip(rgb + rng.normal(0, 0.012, rgb.shape), 0, 1)
    img = Image.fromarray((rgb * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=88)
    text = "\n".join(" ".join("".join(str(int(labels[i])) for i in n) for n in line) for line in lines)
    return buffer.getvalue(), text


def texts(locator) -> list[str]:
    return [locator.nth(i).inner_text() for i in range(locator.count())]


def test_page_of_two_lines_shows_lines_and_a_box_per_number(page, data_dir, tmp_path, artifacts_dir):
    from playwright.sync_api import expect

    data, expected = page_of_numbers(data_dir, TWO_LINES)
    (tmp_path / "page.jpg").write_bytes(data)
    page.set_input_files("#file", str(tmp_path / "page.jpg"))
    number_shown(page, expected)
    settled(page)
    want = [line.split(" ") for line in expected.split("\n")]  # [["04", "149"], ["59"]]
    assert page.locator("#number").evaluate("el => el.textContent") == expected  # the reply's text, line breaks and all

    # the reading is a list of lines, each holding its numbers as buttons
    lines = page.locator("#number ol.lines > li")
    expect(lines).to_have_count(2)
    assert [texts(lines.nth(k).locator(".num")) for k in range(2)] == want
    assert page.locator("#summary").inner_text().startswith("2 lines · 3 numbers · 7 digits")
    assert page.locator("#announce").inner_text() == "Read 2 lines: line 1: 0 4, 1 4 9; line 2: 5 9"
    first, second = lines.nth(0).bounding_box(), lines.nth(1).bounding_box()
    assert second["y"] >= first["y"] + first["height"] - 1  # laid out one under the other

    # one box per number on the photo, in reading order: two side by side, the third below them
    boxes = page.locator("#boxes .box.number-box")
    assert texts(boxes) == ["04", "149", "59"]
    b = [boxes.nth(i).bounding_box() for i in range(3)]
    assert b[0]["x"] + b[0]["width"] < b[1]["x"] and abs(b[0]["y"] - b[1]["y"]) < b[0]["height"] / 2
    assert b[2]["y"] > b[0]["y"] + b[0]["height"]
    assert page.locator("#boxes .box.digit-box").count() == 0  # digits on demand
    expect(page.locator("#digits > li")).to_have_count(0)
    expect(page.locator("#detail-note")).to_contain_text("Select a number")
    page.screenshot(path="/tmp/page-photo-lines.png", full_page=True)

    # selecting a number (a click) shows its digits, with confidence and the model's inputs; its box stands out
    number = page.get_by_role("button", name="149", exact=True)
    number.click()
    expect(number).to_have_attribute("aria-pressed", "true")
    assert number.get_attribute("aria-controls") == "digits"
    digits = page.locator("#digits > li")
    expect(digits).to_have_count(3)
    assert texts(page.locator("#digits .digit-value")) == ["1", "4", "9"]
    assert all(t.endswith("%") for t in texts(page.locator("#digits .digit-conf")))
    assert page.locator("#digits .seen").first.get_attribute("src").startswith("data:image/png;base64,")
    expect(page.locator("#detail-title")).to_have_text("The digits of 149, as the model sees them")
    expect(page.locator("#detail-note")).to_contain_text("line 1, number 2 · 3 digits")
    expect(page.locator("#boxes .box.number-box.selected")).to_have_text("149")
    expect(page.locator("#boxes .box.digit-box")).to_have_count(3)
    page.screenshot(path="/tmp/page-photo-selected.png", full_page=True)
    page.screenshot(path=str(artifacts_dir / "browser-page-lines.png"), full_page=True)

    # by keyboard: Tab reaches the next number, with a visible focus ring; Enter selects it, Space lets it go
    page.keyboard.press("Tab")
    now = focus_visible(page)
    assert page.evaluate("document.activeElement.textContent") == "59"
    assert now["visible"] and now["outline"] != "none", now
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="59", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(number).to_have_attribute("aria-pressed", "false")
    expect(digits).to_have_count(2)
    assert texts(page.locator("#digits .digit-value")) == ["5", "9"]
    page.screenshot(path="/tmp/page-photo-keyboard.png", full_page=True)
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="59", exact=True)).to_have_attribute("aria-pressed", "false")
    expect(digits).to_have_count(0)

    # a click on a number's box on the photo selects it too
    boxes.nth(0).click()
    expect(page.get_by_role("button", name="04", exact=True)).to_have_attribute("aria-pressed", "true")
    assert texts(page.locator("#digits .digit-value")) == ["0", "4"]

    # a one-number photo afterwards: no selection left over, all its digits shown
    single, one_number = photo_of_digits(data_dir, [3, 4])
    (tmp_path / "one.jpg").write_bytes(single)
    page.set_input_files("#file", str(tmp_path / "one.jpg"))
    number_shown(page, one_number)
    expect(page.locator("#digits > li")).to_have_count(2)
    assert page.locator("#number .num").count() == 0 and page.locator("#boxes .box.number-box").count() == 1


def test_drawing_two_lines_reads_two_lines(page, data_dir, artifacts_dir):
    from playwright.sync_api import expect

    from handwritten_digits.data import load_dataset

    images, labels = load_dataset("test", data_dir=data_dir)
    rows = [[0, 1], [2, 3]]  # 72 over 10
    cell = 100 / 28
    page.locator("#pen-width").fill("10")  # a finer pen for digits half the pad's height
    for row, picks in enumerate(rows):
        for slot, index in enumerate(picks):
            for s in raster_strokes(images[index], 40 + slot * 95, 10 + row * 135, cell):
                stroke(page, s, steps=1)
    expected = "\n".join("".join(str(int(labels[i])) for i in picks) for picks in rows)
    number_shown(page, expected)
    settled(page)
    lines = page.locator("#number ol.lines > li")
    expect(lines).to_have_count(2)
    assert texts(page.locator("#number .num")) == expected.split("\n")
    page.get_by_role("button", name=expected.split("\n")[1], exact=True).click()
    expect(page.locator("#digits > li")).to_have_count(2)
    box = page.locator("#pad-boxes .box.number-box.selected")  # the number chosen is boxed on the drawing
    expect(box).to_have_count(1)
    pad, around = page.locator("#pad").bounding_box(), box.bounding_box()
    assert around["y"] > pad["y"] + pad["height"] / 2 - 10  # the second line is the lower half of the pad
    page.screenshot(path="/tmp/page-draw-lines.png", full_page=True)
    page.screenshot(path=str(artifacts_dir / "browser-draw-lines.png"), full_page=True)


# ---------------------------------------------------------------- marks ("not a digit") and rejected digits ("not sure")
# The bundled model never returns marks yet, so these readings are fulfilled in the page (the documented shape).


def input_url(points) -> str:
    """A 28x28 model input as the server sends it: a PNG data URL, white ink through ``points`` on black."""
    import base64

    from PIL import Image, ImageDraw

    img = Image.new("L", (28, 28), 0)
    ImageDraw.Draw(img).line(points, fill=255, width=3)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


SCRIBBLE_INPUT = [(5, 14), (9, 6), (12, 20), (16, 7), (19, 21), (23, 12)]


def digit_out(digit, box, confidence, rejected=False, runner_up=None) -> dict:
    probabilities = [0.0] * 10
    probabilities[digit] = confidence
    if runner_up is not None:
        probabilities[runner_up[0]] = runner_up[1]
    rest = (1 - sum(probabilities)) / probabilities.count(0.0)
    probabilities = [p or rest for p in probabilities]
    return {"digit": digit, "confidence": confidence, "box": box, "probabilities": probabilities,
            "rejected": rejected, "input": input_url([(14, 5), (14, 23)])}


def serve_reading(pg, body) -> list[str]:
    """Answer every /recognize request of the page with ``body``; returns the URLs asked, as they come."""
    import json

    urls = []

    def fulfil(route):
        urls.append(route.request.url)
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    pg.route("**/api/v1/recognize**", fulfil)
    return urls


def zigzag(x0, y0, x1, y1, n=6):
    """A scribble across the box (logical canvas units): ink the model should call not a digit."""
    return [(x0 + (x1 - x0) * i / (n - 1), y1 if i % 2 else y0) for i in range(n)]


def draw_only_a_mark(pg):
    """A scribble on the pad, read (routed) as one mark and no digit; returns its box in the PNG sent (280x140)."""
    points = zigzag(190, 80, 370, 200)
    box = [190 // 2 - 5, 80 // 2 - 5, 370 // 2 + 5, 200 // 2 + 5]  # the PNG is half the logical size; pen 20
    serve_reading(pg, {"text": "", "digits": [], "lines": [], "limits": [], "width": 280, "height": 140,
                       "marks": [{"box": box, "confidence": 0.93, "input": input_url(SCRIBBLE_INPUT)}]})
    stroke(pg, points)


def photo_with_a_mark(data_dir, tmp_path) -> Path:
    """Three MNIST digits on paper (0 4 1) and a scribble to their right."""
    from PIL import Image, ImageDraw

    data, _ = photo_of_digits(data_dir, [3, 4, 5])
    img = Image.open(io.BytesIO(data)).convert("RGB")
    ImageDraw.Draw(img).line([(750, 230), (775, 160), (800, 250), (825, 170), (850, 240)], fill=(40, 40, 90), width=9)
    path = tmp_path / "digits-and-a-scribble.jpg"
    img.save(path, format="JPEG", quality=90)
    return path


def read_number_with_a_mark(pg, data_dir, tmp_path):
    """A photo read (routed) as one number "0?1", its middle digit not sure, and one mark beside it."""
    boxes = [[150 + slot * 200 + 25, 105, 150 + slot * 200 + 135, 290] for slot in range(3)]
    digits = [digit_out(0, boxes[0], 0.97), digit_out(4, boxes[1], 0.42, rejected=True, runner_up=(9, 0.31)),
              digit_out(1, boxes[2], 0.95)]
    confidence = 0.97 * 0.42 * 0.95
    number = {"text": "0?1", "box": [boxes[0][0], 105, boxes[2][2], 290], "confidence": confidence, "digits": [0, 1, 2]}
    serve_reading(pg, {
        "text": "0?1", "digits": digits, "limits": [], "width": 900, "height": 420,
        "lines": [{"text": "0?1", "box": number["box"], "confidence": confidence, "numbers": [number]}],
        "marks": [{"box": [740, 150, 860, 260], "confidence": 0.88, "input": input_url(SCRIBBLE_INPUT)}],
    })
    pg.set_input_files("#file", str(photo_with_a_mark(data_dir, tmp_path)))
    number_shown(pg, "0?1")
    settled(pg)


def test_only_marks_read_not_a_digit(page, artifacts_dir):
    from playwright.sync_api import expect

    draw_only_a_mark(page)
    number_shown(page, "Not a digit")
    settled(page)
    expect(page.locator("#summary")).not_to_contain_text("Nothing read")
    expect(page.locator("#marks")).to_contain_text("1 mark is not a digit")
    mark = page.locator("#pad-boxes .box.mark-box")
    expect(mark).to_have_count(1)
    expect(mark).to_have_text("not a digit")
    assert mark.evaluate("el => getComputedStyle(el).borderStyle") == "dashed"
    assert page.locator("#pad-boxes .box.number-box, #pad-boxes .box.digit-box").count() == 0
    pad, around = page.locator("#pad").bounding_box(), mark.bounding_box()  # around the scribble, in page pixels
    assert abs(around["x"] - (pad["x"] + 180 * pad["width"] / 560)) < 3
    assert abs(around["width"] - 200 * pad["width"] / 560) < 3
    # never shown as a digit: no number, no digit card; its one card says what it is
    assert not any(c.isdigit() for c in page.locator("#number").inner_text())
    assert page.locator("#number .num").count() == 0
    expect(page.locator("#digits > li.mark-item")).to_have_count(1)
    expect(page.locator("#digits .digit-conf")).to_have_text("not a digit (93%)")
    assert page.locator("#digits .bars").count() == 0
    assert page.locator("#announce").inner_text() == "Not a digit"
    screenshot(page, artifacts_dir / "browser-not-a-digit.png")
    page.keyboard.press("Escape")  # cleared: back to nothing read
    number_shown(page, "—")
    expect(page.locator("#marks")).to_be_hidden()
    expect(page.locator("#pad-boxes .box")).to_have_count(0)


def test_number_with_a_mark_and_a_digit_not_sure(page, data_dir, tmp_path, artifacts_dir):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Photo").click()
    read_number_with_a_mark(page, data_dir, tmp_path)
    # the number as read, "?" for the digit not sure, in words as well as colour
    assert page.locator("#number").evaluate("el => el.textContent") == "0?1"
    expect(page.locator("#number .unsure-digit")).to_have_text("?")
    expect(page.locator("#summary")).to_contain_text("1 not sure")
    expect(page.locator("#boxes .box.number-box")).to_have_text("0?1")
    unsure = page.locator("#boxes .box.digit-box.rejected")
    expect(unsure).to_have_count(1)
    expect(unsure).to_have_text("? not sure")
    expect(page.locator("#digits > li")).to_have_count(3)
    expect(page.locator("#digits > li.not-sure .digit-value")).to_have_text("?")
    expect(page.locator("#digits .not-sure-text")).to_have_text("not sure — maybe 4 (42%), or 9 (31%)")
    expect(page.get_by_role("button", name="Say which digit it is: digit 2 is not sure")).to_be_visible()
    # the mark: boxed apart, noted under the reading, never in the number
    marks = page.locator("#boxes .box.mark-box")
    expect(marks).to_have_count(1)
    assert marks.evaluate("el => getComputedStyle(el).borderStyle") == "dashed"
    assert marks.evaluate("el => getComputedStyle(el).borderTopColor") != \
        page.locator("#boxes .box.number-box").evaluate("el => getComputedStyle(el).borderTopColor")
    expect(page.locator("#marks")).to_contain_text("1 mark is not a digit")
    assert page.locator("#announce").inner_text() == "Read: 0 not sure 1; 1 mark is not a digit"
    screenshot(page, artifacts_dir / "browser-not-sure.png")
    assert axe_serious(page, axe_script()) == []

    # by keyboard: Tab from the photo's toolbar reaches the mark; Enter shows what the model saw
    page.locator("#choose-another").focus()
    page.keyboard.press("Tab")
    now = focus_visible(page)
    assert page.evaluate("document.activeElement.textContent") == "mark 1"
    assert now["visible"] and now["outline"] != "none", now
    page.keyboard.press("Enter")
    button = page.get_by_role("button", name="mark 1", exact=True)
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#digits > li")).to_have_count(1)
    expect(page.locator("#digits .digit-conf")).to_have_text("not a digit (88%)")
    assert page.locator("#digits .seen").get_attribute("src").startswith("data:image/png;base64,")
    expect(page.locator("#detail-title")).to_have_text("Mark 1, as the model sees it")
    expect(page.locator("#boxes .box.mark-box.selected")).to_have_count(1)
    page.screenshot(path=str(artifacts_dir / "browser-mark-detail.png"), full_page=True)
    assert axe_serious(page, axe_script()) == []
    page.keyboard.press("Enter")  # a toggle: the number's digits again
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#digits > li")).to_have_count(3)


def test_not_a_digit_and_not_sure_on_a_phone(browser, server, data_dir, tmp_path, artifacts_dir):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    pg = context.new_page()
    pg.goto(server[0] + "/")
    pg.wait_for_selector("#pad")
    draw_only_a_mark(pg)
    number_shown(pg, "Not a digit")
    expect(pg.locator("#pad-boxes .box.mark-box")).to_have_count(1)
    screenshot(pg, artifacts_dir / "browser-not-a-digit-phone.png")
    pg.get_by_role("tab", name="Photo").click()
    read_number_with_a_mark(pg, data_dir, tmp_path)
    expect(pg.locator("#boxes .box.mark-box")).to_have_count(1)
    width = pg.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width}px wide on a 390px phone"
    screenshot(pg, artifacts_dir / "browser-not-sure-phone.png")
    context.close()


def test_page_asks_for_digits_not_sure_below_one_half(page):
    from urllib.parse import parse_qs, urlparse

    from playwright.sync_api import expect

    urls = []
    page.on("request", lambda r: urls.append(r.url) if "/recognize" in r.url else None)
    for s in seven(0):
        stroke(page, s)
    number_shown(page, "7")
    settled(page)
    assert urls and all(parse_qs(urlparse(u).query).get("min_confidence") == ["0.5"] for u in urls), urls
    # the final reading of the whole 7 (the real server, today's model): a sure digit, no mark
    # (a live reading of half a stroke may well be "not a digit": part of a digit is none)
    expect(page.locator("#pad-boxes .box.mark-box")).to_have_count(0)
    expect(page.locator("#pad-boxes .box.rejected")).to_have_count(0)
