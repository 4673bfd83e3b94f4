"""The web app: REST API under ``/api/v1``, health probes, and the drawing page at ``/``.

The model is loaded once per process (:func:`create_app`) and handed to routes through the
:func:`get_recognizer` dependency, so tests can swap it with ``app.dependency_overrides``.
Routes hold no state between requests, so the app scales by uvicorn workers and replicas.

No image is read on the event loop: every reading (header check, decode, ink, segmentation, the
networks, a correction's normalisation) runs on one of ``Settings.reading_threads`` reading threads
per process, so a slow image can hold up neither the probes nor the page. With two threads, one slow
image leaves the other free for the canvas requests queued behind it; more would only take turns on
the GIL (recognition holds it for its Python steps), and more cores are used by more workers. Every
route that decodes (``recognize`` and ``feedback``) goes through that pool and the ``max_pixels``
header check, so memory is bounded by ``reading_threads`` decodes of at most ``max_pixels`` each.

Hostile clients: a body must arrive within ``Settings.body_timeout`` (408, one log line), a client
that hangs up mid-upload costs one log line, and every error answers ``{"detail": "<one line>"}``,
as the OpenAPI spec says (``schemas.Error``). ``/docs`` and ``/redoc`` load their scripts from the
app itself (the ``fastapi-offline`` package's files), so they work offline.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.resources
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

from handwritten_digits import __version__
from handwritten_digits.errors import DigitsError
from handwritten_digits.reading import decode as decoding
from handwritten_digits.reading.ink import WORK_SIDE
from handwritten_digits.reading.normalize import SIZE, prepare_single
from handwritten_digits.reading.reader import Reader
from handwritten_digits.server import schemas
from handwritten_digits.server.feedback import FeedbackStore, image_to_png
from handwritten_digits.server.schemas import ERRORS, FEEDBACK_BODY, IMAGE_BODY
from handwritten_digits.server.settings import Settings

STATIC = Path(__file__).parent / "static"
SAMPLES = Path(__file__).parents[1] / "assets" / "samples"
log = logging.getLogger("handwritten_digits.server")
READING_THREAD = "read"  # the reading threads' name prefix
DOCS_STATIC = "/docs-static"  # where Swagger UI's and ReDoc's scripts are served from (no CDN)


# ---------------------------------------------------------------- dependencies


# ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in the threadpool, a thread hop each.


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_recognizer(request: Request):
    """The process's loaded :class:`~handwritten_digits.runtime.Recognizer` (swap it in tests)."""
    return request.app.state.recognizer


async def get_feedback_store(request: Request) -> FeedbackStore:
    return request.app.state.feedback


# ---------------------------------------------------------------- request bodies


async def read_upload(request: Request, settings: Settings) -> tuple[bytes, dict[str, str]]:
    """The image bytes of a raw ``image/*`` body or of the multipart field ``image``, plus other form fields.

    The size cap is enforced on the declared ``Content-Length`` and again on the bytes actually read;
    the whole body must arrive within ``settings.body_timeout`` seconds (a client that sends less than it
    declared, or trickles, would otherwise hold the connection and its buffer for ever).
    """
    mime = request.headers.get("content-type", "").split(";")[0].strip().lower()
    multipart = mime == "multipart/form-data"
    if not (multipart or mime.startswith("image/")):
        raise HTTPException(415, f"unsupported content type '{mime or 'none'}': send image/* or multipart/form-data")
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            declared_size = int(declared)
        except ValueError:
            raise HTTPException(400, "invalid Content-Length header") from None
        if declared_size > settings.max_bytes:
            raise HTTPException(413, f"body of {declared_size} bytes exceeds the limit of {settings.max_bytes} bytes")
    body = bytearray()
    client = f"{request.client.host}:{request.client.port}" if request.client else "client"
    try:
        async with asyncio.timeout(settings.body_timeout):
            async for chunk in request.stream():
                body += chunk
                if len(body) > settings.max_bytes:
                    raise HTTPException(413, f"body exceeds the limit of {settings.max_bytes} bytes")
    except TimeoutError:
        log.warning("%s %s from %s: body not received within %gs (%d bytes read), answered 408", request.method,
                    request.url.path, client, settings.body_timeout, len(body))
        # close: the rest of the body may still come, and the connection cannot be reused
        raise HTTPException(408, f"request body not received within {settings.body_timeout:g} s",
                            headers={"Connection": "close"}) from None
    except ClientDisconnect:
        # a hang-up is the client's business: one line, no traceback (nobody is left to answer)
        log.info("%s %s from %s: client disconnected after %d bytes of the body", request.method,
                 request.url.path, client, len(body))
        raise HTTPException(400, "client disconnected") from None
    if not multipart:
        return bytes(body), {}
    return await _parse_multipart(request, bytes(body))


async def _parse_multipart(request: Request, body: bytes) -> tuple[bytes, dict[str, str]]:
    async def replay():
        yield body
        yield b""

    try:
        form = await MultiPartParser(request.headers, replay(), max_files=1, max_fields=10).parse()
    except MultiPartException as exc:
        raise HTTPException(400, f"malformed multipart body: {exc.message}") from None
    try:
        upload = form.get("image")
        if not isinstance(upload, UploadFile):
            raise HTTPException(400, "multipart body has no file field 'image'")
        data = await upload.read()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
    finally:
        await form.close()
    return data, fields


def _only_fields(fields: dict[str, str], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:  # the spec says additionalProperties: false; a typo must not pass silently
        raise HTTPException(422, f"unknown form field(s): {', '.join(unknown)}")


def validation_message(errors) -> str:
    """FastAPI's list of validation errors as the one line ``schemas.Error`` documents."""
    parts = []
    for err in errors:
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
    return " ".join("; ".join(parts).split()) or "invalid request"


def decode(data: bytes, max_pixels: int, max_side: int | None = None) -> decoding.GrayImage:
    """Check the header (format, at most ``max_pixels``), then decode to grayscale in [0, 1] (at most
    ``max_side`` for large JPEGs); what the server will not decode becomes a 422."""
    try:
        return decoding.decode(data, max_side=max_side, max_pixels=max_pixels)
    except DigitsError as exc:
        raise HTTPException(422, str(exc).removeprefix("image data: ")) from None


def input_png_url(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(image_to_png(image)).decode("ascii")


# ---------------------------------------------------------------- recognition


def recognize(recognizer, data: bytes, max_pixels: int, single: bool, min_confidence: float | None,
              include_inputs: bool) -> dict:
    """Decode once (the header checked first), then the reading path of ``digits predict``: its JSON, plus
    the image size.

    Runs on a reading thread (:func:`in_reading_thread`), never on the event loop.
    """
    gray = decode(data, max_pixels, max_side=WORK_SIDE)
    try:
        result = Reader(recognizer).read(gray, min_confidence, single=single)
    except DigitsError as exc:
        raise HTTPException(422, str(exc)) from None
    except Exception:  # an image that trips preprocessing is still the client's input: a 422, logged for us
        log.exception("reading failed on a %dx%d image", gray.shape[1], gray.shape[0])
        raise HTTPException(422, "cannot find digits in this image") from None
    out = result.to_dict()
    if include_inputs:
        for entry, d in [*zip(out["digits"], result.digits), *zip(out["marks"], result.marks)]:
            entry["input"] = input_png_url(d.image)
    out["height"], out["width"] = (int(v) for v in gray.shape)
    return out


def feedback_input(data: bytes, max_pixels: int) -> np.ndarray:
    """A 28x28 model input from a correction: a 28x28 image is taken as the input itself, anything else is one digit.

    Runs on a reading thread, as :func:`recognize` does.
    """
    gray = decode(data, max_pixels).pixels
    if gray.shape == (SIZE, SIZE):
        border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
        return (1.0 - gray if np.median(border) > 0.5 else gray).astype(np.float32)
    digit = prepare_single(gray)
    if digit is None:
        raise HTTPException(422, "the image holds no ink")
    return digit.image


async def in_reading_thread(request: Request, fn, *args):
    """``fn(*args)`` on one of the process's reading threads; the event loop waits without blocking."""
    return await asyncio.get_running_loop().run_in_executor(request.app.state.readers, fn, *args)


def _optional_digit(fields: dict, name: str, query_value: int | None) -> int | None:
    raw = fields.get(name, query_value)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise HTTPException(422, f"{name} must be a digit 0-9, got {raw!r}") from None
    if not 0 <= value <= 9:
        raise HTTPException(422, f"{name} must be a digit 0-9, got {value}")
    return value


# ---------------------------------------------------------------- the app


def create_app(settings: Settings | None = None, recognizer=None) -> FastAPI:
    """Build the app: load the model (unless ``recognizer`` is given), warm it up, mount the page.

    Parameters
    ----------
    settings : Settings, optional
        Defaults to :meth:`Settings.from_env`.
    recognizer : optional
        Anything with ``probabilities``, ``not_digit``, ``piece_scores``, ``card`` and ``name`` (the real one is
        :class:`~handwritten_digits.runtime.Recognizer`).
    """
    settings = settings or Settings.from_env()
    if recognizer is None:
        from handwritten_digits.runtime import Recognizer

        recognizer = Recognizer.load(settings.model, threads=settings.threads)
    app = FastAPI(
        docs_url=None, redoc_url=None,  # served below from local files: the CDN ones are blank offline
        title="handwritten-digits",
        version=__version__,
        description="Read handwritten digits and numbers from drawings, scans and photos. "
        "POST an image to `/api/v1/recognize`; the page at `/` draws and reads live.",
    )
    app.state.settings = settings
    app.state.recognizer = recognizer
    app.state.feedback = FeedbackStore(settings.feedback_db)
    # bounded: at most this many readings at once per process, the others wait in its queue
    app.state.readers = ThreadPoolExecutor(max_workers=settings.reading_threads, thread_name_prefix=READING_THREAD)
    # one inference before serving: the first user request should not pay for session set-up
    recognizer.probabilities(np.zeros((1, SIZE, SIZE), np.float32))
    app.state.ready = True

    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type"])

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception):  # a last resort: log it, never leak a traceback
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal server error"}, status_code=500)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):  # a string, as schemas.Error says
        return JSONResponse({"detail": validation_message(exc.errors())}, status_code=422)

    @app.post(
        "/api/v1/recognize", response_model=schemas.RecognizeResponse, responses=ERRORS,
        openapi_extra={"requestBody": IMAGE_BODY}, tags=["recognition"],
        summary="Read the digits in an image",
    )
    async def recognize_route(
        request: Request,
        single: bool = Query(False, description="treat the whole image as one digit"),
        min_confidence: float | None = Query(None, ge=0, le=1, description="mark digits below this confidence as rejected ('?')"),
        include_inputs: bool = Query(False, description="add each digit's 28x28 model input as a PNG data URL"),
        settings: Settings = Depends(get_settings),
        recognizer=Depends(get_recognizer),
    ):
        """The image as the raw body (`Content-Type: image/*`) or as the multipart field `image`.
        Returns the JSON of `digits predict --json`: `text` and, per digit, `digit`, `confidence`,
        `box`, `probabilities`, `rejected`. No digit found is a 200 with an empty `text`."""
        data, fields = await read_upload(request, settings)
        _only_fields(fields, ())
        if not data:
            raise HTTPException(400, "empty body: send an image")
        result = await in_reading_thread(request, recognize, recognizer, data, settings.max_pixels, single,
                                         min_confidence, include_inputs)
        return JSONResponse(result)  # built from the typed ReadResult; skips re-validating the floats

    @app.post(
        "/api/v1/feedback", response_model=schemas.FeedbackOut, status_code=201,
        responses={**ERRORS, 503: {"model": schemas.Error, "description": "feedback storage is unavailable"}},
        openapi_extra={"requestBody": FEEDBACK_BODY}, tags=["feedback"], summary="Store a correction",
    )
    async def feedback_route(
        request: Request,
        label: int | None = Query(None, ge=0, le=9, include_in_schema=False),  # raw bodies: see FEEDBACK_BODY
        predicted: int | None = Query(None, ge=0, le=9, include_in_schema=False),
        settings: Settings = Depends(get_settings),
        recognizer=Depends(get_recognizer),
        store: FeedbackStore = Depends(get_feedback_store),
    ):
        """A digit image the model got wrong and the right label. A 28x28 image (the `input` returned by
        `recognize?include_inputs=true`) is stored as is; a larger one is normalised as one digit first."""
        data, fields = await read_upload(request, settings)
        _only_fields(fields, ("label", "predicted"))
        right = _optional_digit(fields, "label", label)
        if right is None:
            raise HTTPException(422, "label is required: the right digit 0-9")
        said = _optional_digit(fields, "predicted", predicted)
        if not data:
            raise HTTPException(400, "empty body: send an image")
        image = await in_reading_thread(request, feedback_input, data, settings.max_pixels)
        try:
            row = await run_in_threadpool(store.add, image, right, said, None, getattr(recognizer, "name", None))
            total = await run_in_threadpool(store.count)
        except DigitsError as exc:
            log.error("feedback not stored: %s", exc)
            raise HTTPException(503, "feedback storage is unavailable") from None
        return {"id": row, "label": right, "predicted": said, "total": total}

    @app.get("/api/v1/model", response_model=schemas.ModelCard, tags=["model"], summary="The served model's card")
    async def model_route(recognizer=Depends(get_recognizer)):
        card = dict(recognizer.card)
        card.setdefault("name", recognizer.name)
        return card

    @app.get("/healthz", response_model=schemas.Health, tags=["probes"], summary="Liveness")
    async def healthz():
        return {"status": "ok"}

    @app.get("/readyz", response_model=schemas.Ready, tags=["probes"], summary="Readiness",
             responses={503: {"model": schemas.Error}})
    async def readyz(request: Request, recognizer=Depends(get_recognizer)):
        if not getattr(request.app.state, "ready", False):
            raise HTTPException(503, "model not loaded yet")
        return {"status": "ready", "model": recognizer.name}

    docs_files = importlib.resources.files("fastapi_offline") / "static"  # Swagger UI 5, ReDoc 2, a favicon

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} - API",
                                   swagger_js_url=f"{DOCS_STATIC}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_STATIC}/swagger-ui.css",
                                   swagger_favicon_url=f"{DOCS_STATIC}/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=app.openapi_url, title=f"{app.title} - API",
                              redoc_js_url=f"{DOCS_STATIC}/redoc.standalone.js",
                              redoc_favicon_url=f"{DOCS_STATIC}/favicon.png", with_google_fonts=False)

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount(DOCS_STATIC, StaticFiles(directory=str(docs_files)), name="docs-static")
    app.mount("/samples", StaticFiles(directory=SAMPLES), name="samples")  # the page's examples to try
    return app


def tune_process(threads: int = 1) -> None:
    """Set a serving process up: OpenCV's threads, the GIL's switch interval, the garbage collector.

    OpenCV runs its operations on ``threads`` threads (``Settings.threads``, as ONNX Runtime): by
    default one per CPU, which on canvas-sized images costs more CPU in hand-offs than it saves
    (measured: 0.3 ms a canvas reading) while the workers already keep every core busy.
    CPython's default switch interval (5 ms) makes the event loop thread, returning from a socket call,
    wait up to that long while a reading thread runs Python code: per-request latency, not throughput.
    Objects alive at start-up (modules, the app, the model) live as long as the process: frozen, they
    are not walked again by every full collection, which would otherwise stall a request now and then.
    """
    import gc
    import sys

    import cv2

    cv2.setNumThreads(max(1, threads))
    sys.setswitchinterval(0.0005)
    gc.freeze()


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory`` worker processes: settings come from ``DIGITS_*`` variables."""
    settings = Settings.from_env()
    app = create_app(settings)
    tune_process(settings.threads)
    return app
