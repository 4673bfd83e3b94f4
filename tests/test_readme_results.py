"""The README results generator (benchmarks/readme.py) and the benchmark runner (benchmarks/run_all.py)."""

from __future__ import annotations

import json
import re

import pytest

from benchmarks import readme, run_all

TEMPLATE = "# Title\n\nIntro text.\n\n<!-- results:start -->\nold text 12.34%\n<!-- results:end -->\n\n## After\nkept 1.0\n"

CLASSIC = {
    "benchmark": "classic", "command": "python -m benchmarks.bench_classic", "quick": False, "started": "2026-11-24T10:00:00",
    "machine": {"cpus": 2},
    "models": {
        "svm": {"model": "svm", "val_accuracy": 0.9812, "test_accuracy": 0.9791, "train_seconds": 321.5,
                "inference_images_per_s": 4321.0, "model_bytes": 12_500_000},
        "logreg": {"model": "logreg", "val_accuracy": 0.9158, "test_accuracy": 0.9249, "train_seconds": 114.9,
                   "inference_images_per_s": 1_238_823.5, "model_bytes": 39712},
    },
}
LOAD = {
    "benchmark": "bench_load", "command": "python -m benchmarks.bench_load",
    "machine": {"cpus": 2, "loadavg_before": [1.5, 1, 1], "loadavg_after": [2.5, 1, 1]},
    "servers": [{"name": "digits serve (FastAPI): POST /api/v1/recognize",
                 "saturation": {"throughput_rps": 812.3, "p50_ms": 38.2, "p99_ms": 97.6, "errors": 0},
                 "rates": [{"rate_rps": 100, "achieved_rps": 99.8, "p50_ms": 4.1, "p99_ms": 9.9, "errors": 0}],
                 "server_cpu_ms_per_request": 2.31, "projected_rps_on_2_free_cores": 866.0}],
    "budget_at_1000_rps": {"rate_rps": 1000.0, "cores": 2, "available_ms": 2.0, "model": "digits serve",
                           "parts_ms": {"PNG decode (Pillow)": 0.71, "networks (classifier + checker)": 0.83},
                           "measured_ms": 2.52, "ceiling_rps": 794.0},
}


def _section(path) -> str:
    text = path.read_text()
    return text.split(readme.START, 1)[1].split(readme.END, 1)[0]


@pytest.fixture
def readme_file(tmp_path):
    path = tmp_path / "README.md"
    path.write_text(TEMPLATE)
    return path


def test_no_results_shows_not_measured_and_invents_nothing(tmp_path, readme_file):
    results = tmp_path / "results"
    results.mkdir()
    assert readme.update_readme(readme_file, results, tmp_path / "plots") is True
    section = _section(readme_file)
    assert "old text" not in section
    assert section.count(readme.MISSING) >= 6  # classic, CNN, ensemble, time-to-accuracy, speed, serving, ...
    # the only percentages are the cited published anchors
    assert set(re.findall(r"\d+\.\d+(?:–\d+\.\d+)?%", section)) == {"99.00%", "99.22%", "99.83%", "99.87–99.91%"}
    assert not (tmp_path / "plots").exists()  # no data, no plot
    text = readme_file.read_text()
    assert text.startswith("# Title\n\nIntro text.\n\n<!-- results:start -->\n")
    assert text.endswith("<!-- results:end -->\n\n## After\nkept 1.0\n")


def test_numbers_come_from_the_results_files_and_output_is_deterministic(tmp_path, readme_file):
    results = tmp_path / "results"
    results.mkdir()
    (results / "classic.json").write_text(json.dumps(CLASSIC))
    (results / "load.json").write_text(json.dumps(LOAD))
    plots = tmp_path / "plots"
    assert readme.update_readme(readme_file, results, plots) is True
    first = readme_file.read_text()
    section = _section(readme_file)
    for shown in ("97.91%", "98.12%", "92.49%", "322 s", "4,321", "12.50 MB", "812.3", "97.6 ms", "866 req/s", "2.31 ms",
                  "| PNG decode (Pillow) | 0.71 ms |", "**2.52 ms**", "**2.00 ms** per request that 1,000 req/s", "794 req/s"):
        assert shown in section, shown
    assert "`python -m benchmarks.bench_classic`" in section  # provenance of the figures
    assert "_not measured yet_ (`python -m benchmarks.bench_cnn`)" in section
    assert "](plots/accuracy.png)" in section and "](plots/serving.png)" in section
    png = (plots / "accuracy.png").read_bytes()
    assert png[:4] == b"\x89PNG"
    # same results: same README and same plot bytes
    assert readme.update_readme(readme_file, results, plots) is False
    assert readme_file.read_text() == first
    assert (plots / "accuracy.png").read_bytes() == png


def test_unknown_layouts_and_broken_files_are_shown_not_guessed(tmp_path, readme_file):
    results = tmp_path / "results"
    results.mkdir()
    (results / "realimage.json").write_text(json.dumps({"command": "python -m benchmarks.bench_realimage", "quick": True,
                                                         "models": {"naive": {"accuracy": 0.6123}, "ours": {"accuracy": 0.9532}}}))
    (results / "cnn.json").write_text("{not json")
    readme.update_readme(readme_file, results, tmp_path / "plots")
    section = _section(readme_file)
    assert "61.23%" in section and "95.32%" in section and "Quick smoke run" in section
    assert "cnn.json: unreadable" in section


def test_readme_without_markers_is_refused(tmp_path):
    path = tmp_path / "README.md"
    path.write_text("# no markers\n")
    with pytest.raises(SystemExit):
        readme.update_readme(path, tmp_path, tmp_path / "plots")
    assert path.read_text() == "# no markers\n"


def test_run_all_readme_only_and_unknown_names(tmp_path, readme_file, capsys):
    results = tmp_path / "results"
    results.mkdir()
    (results / "classic.json").write_text(json.dumps(CLASSIC))
    assert "classic" in run_all.available() and "load" in run_all.available()
    assert run_all.main(["--readme-only", "--readme", str(readme_file), "--results", str(results)]) == 0
    assert "97.91%" in _section(readme_file)
    assert run_all.main(["no_such_bench", "--readme", str(readme_file), "--results", str(results)]) == 2
    assert "unknown benchmark" in capsys.readouterr().err


CNN = {
    "benchmark": "cnn", "quick": False, "command": "python -m benchmarks.bench_cnn", "machine": {"cpus": 2},
    "time_to_accuracy": {
        "ours to 99.0%": {"command": "digits train --model cnn --recipe fast --out DIR", "seconds": 14.27, "epochs": 2,
                          "test_accuracy": 0.99123, "target": 0.99, "reached": True},
        "pytorch example to 99.0%": {"seconds": 301.5, "epochs": 2, "test_accuracy": 0.9904, "target": 0.99, "reached": True,
                                     "history": [{"epoch": 1, "test_accuracy": 0.9851, "seconds": 160.2},
                                                 {"epoch": 2, "test_accuracy": 0.9904, "seconds": 301.5}]},
    },
    "speedup_to_99_vs_pytorch_example": 21.1,
    "models": {"accurate": {"model": "accurate", "test_accuracy": 0.9971, "val_accuracy": 0.9968, "usps_accuracy": 0.9577,
                            "semeion_accuracy": 0.9312, "inference_images_per_s": 20211.3, "torch_eager_images_per_s": 3011.7,
                            "onnx_speedup_batch": 6.71, "onnx_single_images_per_s": 4111.0,
                            "torch_eager_single_images_per_s": 512.0, "onnx_speedup_single": 8.03}},
    "cold_start": {"command": "digits predict digit-7.png", "runs": 5, "median_seconds": 0.312},
}
REALIMAGE = {"model": "default", "command": "python -m benchmarks.bench_realimage",
             "singles": {"count": 1000, "ours_accuracy": 0.9871, "naive_accuracy": 0.4123, "target": 0.98},
             "numbers": {"count": 300, "ours_exact": 0.9567, "naive_exact": 0.1033, "target": 0.95},
             "throughput": {"preprocess_singles_per_s": 812.4}}


def test_cnn_and_real_image_results(tmp_path, readme_file):
    results = tmp_path / "results"
    results.mkdir()
    (results / "cnn.json").write_text(json.dumps(CNN))
    (results / "realimage.json").write_text(json.dumps(REALIMAGE))
    readme.update_readme(readme_file, results, tmp_path / "plots")
    section = _section(readme_file)
    for shown in ("14.3 s", "301.5 s", "99.12%", "**21.1×**", "99.71%", "95.77%", "93.12%", "20,211/s", "6.7×",
                  "0.31 s", "41.2%", "**98.7%**", "10.3%", "**95.7%**", "812.4/s"):
        assert shown in section, shown
    assert (tmp_path / "plots" / "time_to_accuracy.png").exists()
    assert "More from" not in section  # every block of cnn.json has its place above


def test_the_check_agrees_with_the_readme_it_wrote(tmp_path, readme_file):
    """``--check`` renders the section as the update does (plots by their file names, a benchmark's own plot
    included) and writes nothing; an edited section fails it."""
    results = tmp_path / "results"
    results.mkdir()
    (results / "cnn.json").write_text(json.dumps(CNN))
    (results / "classic.json").write_text(json.dumps(CLASSIC))
    readme.update_readme(readme_file, results)
    plots = sorted(p.name for p in (results / "plots").iterdir())
    assert "time_to_accuracy.png" in plots
    check = ["--readme", str(readme_file), "--results", str(results), "--check"]
    assert readme.main(check) == 0
    assert sorted(p.name for p in (results / "plots").iterdir()) == plots
    readme_file.write_text(readme_file.read_text().replace("99.71%", "99.70%"))
    assert readme.main(check) == 1
