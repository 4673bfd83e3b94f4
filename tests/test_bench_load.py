"""The load benchmark's pieces that run without a load: the HTTP floor route, the in-process steps, the budget."""

from __future__ import annotations

import pytest

from benchmarks import bench_load

pytest.importorskip("httpx2")
from fastapi.testclient import TestClient  # noqa: E402

from benchmarks import http_floor  # noqa: E402


def test_http_floor_answers_with_the_keys_of_the_recognize_route(tmp_path):
    """The floor must cost what HTTP costs for the same exchange: the same route, body and JSON keys."""
    from handwritten_digits.runtime import Recognizer
    from handwritten_digits.server.app import create_app
    from handwritten_digits.server.settings import Settings

    body = bench_load.canvas_pngs(1, data_dir=tmp_path)[0]  # no MNIST there: synthetic strokes
    headers = {"Content-Type": "image/png"}
    with TestClient(http_floor.app) as floor:
        response = floor.post("/api/v1/recognize", content=body, headers=headers)
    assert response.status_code == 200 and response.json()["text"] == ""
    settings = Settings(feedback_db=tmp_path / "feedback.db")
    with TestClient(create_app(settings, Recognizer.load(settings.model))) as real:
        answer = real.post("/api/v1/recognize", content=body, headers=headers)
    assert answer.status_code == 200 and set(response.json()) == set(answer.json())


def test_stage_cpu_clocks_the_networks_inside_the_reading(tmp_path):
    bodies = bench_load.canvas_pngs(4, data_dir=tmp_path)
    stages = bench_load.stage_cpu_ms("default-int8", bodies, rounds=1)
    model = stages[bench_load.MODEL_STAGE]
    assert 0 < model < stages[bench_load.READ_STAGE]
    assert 0 < stages[bench_load.INK_STAGE] < stages[bench_load.READ_STAGE]
    assert stages[bench_load.DECODE_STAGE] > 0 and stages[bench_load.SINGLE_STAGE] > 0


def _report(client_ms=0.2, floor_ms=0.1, server_ms=4.0):
    stages = {bench_load.DECODE_STAGE: 0.7, bench_load.MODEL_STAGE: 0.8, bench_load.READ_STAGE: 3.0}
    return {
        "machine": {"cpus": 2},
        "servers": [
            {"name": "digits serve --model default-int8 (FastAPI): POST /api/v1/recognize",
             "saturation": {"client_cpu_ms_per_request": client_ms}, "server_cpu_ms_per_request": server_ms},
            {"name": "HTTP floor", "floor": True, "saturation": {"client_cpu_ms_per_request": 0.05},
             "server_cpu_ms_per_request": floor_ms},
        ],
        "stages_cpu_ms": stages,
    }


def test_budget_parts_add_up_to_the_measured_whole():
    budget = bench_load.request_budget(_report())
    assert budget["available_ms"] == 2.0 and budget["model"] == "digits serve --model default-int8"
    parts = budget["parts_ms"]
    assert parts["ink finding and segmentation (OpenCV + numpy)"] == pytest.approx(2.2)
    assert parts["PNG decode (OpenCV)"] == 0.7
    assert parts["load generator (client process)"] == 0.2  # the client at the real server's rate, not the floor's
    assert sum(parts.values()) == pytest.approx(budget["measured_ms"]) == pytest.approx(4.2)
    assert budget["ceiling_rps"] == round(2000 / 4.2)


def test_budget_needs_the_floor_and_the_steps():
    report = _report()
    report["servers"] = report["servers"][:1]
    assert bench_load.request_budget(report) is None
    report = _report()
    del report["stages_cpu_ms"][bench_load.MODEL_STAGE]
    assert bench_load.request_budget(report) is None
