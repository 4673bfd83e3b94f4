# Two commands set everything up: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PEERS_VENV := .venv-peers
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-test system-deps lock bench peers clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Inference + web app only: no torch, no scikit-learn.
install: $(BIN)/python
	$(PIP) install --quiet -c constraints.txt -e ".[serve]"

run: install
	$(BIN)/digits serve --host $(HOST) --port $(PORT)

# Debian packages the tests drive: a real browser and a real PostgreSQL server.
system-deps:
	@if [ ! -x /usr/bin/chromium ] || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium postgresql fonts-dejavu-core >/dev/null; \
	fi

install-test: $(BIN)/python system-deps
	$(PIP) install --quiet -c constraints.txt -e ".[all]"

test: install-test
	$(BIN)/python -m pytest

bench: install-test
	$(BIN)/python -m benchmarks.run_all

# Peer OCR engines for benchmarks/bench_peers.py, kept out of the product: Debian's Tesseract, and
# RapidOCR in a venv of its own (its opencv-python would clash with the product's headless OpenCV).
peers:
	@if ! command -v tesseract >/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends tesseract-ocr >/dev/null; \
	fi
	test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install --quiet -c benchmarks/peers-constraints.txt rapidocr-onnxruntime

# Re-resolve constraints.txt from a fresh environment.
lock:
	rm -rf /tmp/digits-lock && $(PYTHON) -m venv /tmp/digits-lock
	/tmp/digits-lock/bin/pip install --quiet -e ".[all]"
	(echo "# Exact versions of every dependency, resolved on Python 3.11 (regenerate: make lock)."; \
	 /tmp/digits-lock/bin/pip freeze --exclude-editable | grep -v -E '^(pip|setuptools|wheel)==' | sed 's/+cpu//' | sort -f) > constraints.txt

clean:
	rm -rf $(VENV) $(PEERS_VENV) build dist src/*.egg-info .pytest_cache
