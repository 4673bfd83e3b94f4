"""Server settings: one typed object, filled from ``DIGITS_*`` environment variables and CLI options.

Options win over the environment, the environment over the defaults. The environment is also how
``digits serve --workers N`` hands the settings to each uvicorn worker process (import-string mode).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from handwritten_digits.errors import DigitsError

ENV_PREFIX = "DIGITS_"


def default_feedback_db() -> Path:
    """``$XDG_DATA_HOME/handwritten-digits/feedback.db`` (``~/.local/share`` when unset)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "handwritten-digits" / "feedback.db"


@dataclass
class Settings:
    """Everything the server needs to start.

    Parameters
    ----------
    model : str
        Bundled model name (``default-int8``, ``default``, ``accurate``), a ``.onnx`` file or a folder.
        The server's default is ``default-int8``, the int8 build of ``default``: the same accuracy on
        every validation check (MNIST, photo digits, numbers) for less CPU per request (README, Serving).
    host, port, workers :
        Where uvicorn listens and how many processes it forks.
    feedback_db : Path
        SQLite file for corrections sent from the page.
    max_bytes : int
        Largest request body accepted (413 above it).
    max_pixels : int
        Largest decoded image (width x height) accepted (422 above it: decompression bombs).
    threads : int
        ONNX Runtime intra-op threads and OpenCV threads per worker (1 scales best with several workers).
    reading_threads : int
        Threads per worker that read images (never the event loop, so a slow image cannot hold up the
        probes); requests beyond them wait in a queue. Two: one slow image leaves a thread free for the
        page's requests; more only take turns on the GIL (use workers for more cores).
    cors_origins : list of str
        Origins allowed by CORS; empty (the default) turns CORS off.
    body_timeout : float
        Seconds a request body has to arrive in full (408 and the connection closed after it): a client
        that declares more bytes than it sends, or trickles them, holds no connection longer. 60 s lets a
        10 MB photo come over a 2 Mbit/s link.
    idle_timeout : float
        Seconds a connection may stay idle between requests (uvicorn's ``timeout_keep_alive``), and the
        time a request's head (request line and headers) has to arrive (``digits serve``'s protocol).
    """

    model: str = "default-int8"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    feedback_db: Path = field(default_factory=default_feedback_db)
    max_bytes: int = 10_000_000
    max_pixels: int = 25_000_000
    threads: int = 1
    reading_threads: int = 2
    cors_origins: list[str] = field(default_factory=list)
    body_timeout: float = 60.0
    idle_timeout: float = 5.0

    @classmethod
    def from_env(cls, environ: dict | None = None, **overrides) -> "Settings":
        """Defaults, then ``DIGITS_<FIELD>`` variables, then the non-``None`` ``overrides``."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw not in (None, ""):
                values[f.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**{k: _convert(k, v) for k, v in values.items()})

    def to_env(self) -> dict[str, str]:
        """The settings as ``DIGITS_*`` variables (read back by :meth:`from_env` in worker processes)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[ENV_PREFIX + f.name.upper()] = ",".join(value) if isinstance(value, list) else str(value)
        return out


_INTS = {"port", "workers", "max_bytes", "max_pixels", "threads", "reading_threads"}
_FLOATS = {"body_timeout", "idle_timeout"}  # seconds


def _convert(name: str, value):
    if name in _FLOATS:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise DigitsError(f"setting {name}: expected a number of seconds, got {value!r}") from None
        if not number > 0 or number == float("inf"):
            raise DigitsError(f"setting {name}: must be a positive number of seconds, got {value}")
        return number
    if name in _INTS:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise DigitsError(f"setting {name}: expected an integer, got {value!r}") from None
        if number < (0 if name == "port" else 1):
            raise DigitsError(f"setting {name}: must be positive, got {number}")
        return number
    if name == "feedback_db":
        return Path(value).expanduser()
    if name == "cors_origins":
        items = value.split(",") if isinstance(value, str) else list(value)
        return [item.strip() for item in items if item.strip()]
    return str(value)
