"""edge-bench model mode, report output and --compare, on the shipped model files."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from edge.bench import cli
from edge.bench.models import shipped_models
from edge.bench.stats import ratios, summarize
from edge.bench.system import sha256, system_info
from tflite_backend import MODULES, OTHER, OTHER_PACKAGE, PACKAGE, TFLITE

QUICK = ["--min-time", "0.05", "--warmup", "0.01"]  # enough for the >= 20 timed runs each case makes


@pytest.fixture(scope="module")
def tflite_models():
    models = [p for p in shipped_models() if p.suffix == ".tflite"]
    assert models, "edge/models/ ships no .tflite file"
    return models


@pytest.fixture(scope="module")
def stored_reports(tmp_path_factory, tflite_models):
    """Two real back-to-back runs of the smallest shipped model, written with --out."""
    model = min(tflite_models, key=lambda p: p.stat().st_size)
    dirs = []
    for name in ("a", "b"):
        out = tmp_path_factory.mktemp(name)
        assert cli.main(["models", "--model", str(model), "--backend", TFLITE, *QUICK, "--out", str(out)]) == 0
        dirs.append(out)
    return model, dirs


def test_summarize_percentiles_of_known_samples():
    s = summarize([4.0, 1.0, 3.0, 2.0])
    assert s["p50_ms"] == 2.5 and s["min_ms"] == 1.0 and s["max_ms"] == 4.0 and s["n"] == 4
    assert s["std_ms"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert summarize([]) == {"n": 0}


def test_ratios_match_rows_by_id_and_skip_identifiers():
    old = [{"id": "m|litert|1", "threads": 1, "p50_ms": 2.0, "status": "ok"}, {"id": "gone", "p50_ms": 1.0}]
    new = [{"id": "m|litert|1", "threads": 1, "p50_ms": 1.0, "status": "ok"}, {"id": "added", "p50_ms": 5.0}]
    assert ratios(old, new) == [{"id": "m|litert|1", "figure": "p50_ms", "old": 2.0, "new": 1.0, "ratio": 0.5}]


def test_system_info_names_machine_and_versions():
    info = system_info()
    assert info["cores_logical"] >= 1 and info["python"].count(".") == 2
    assert "numpy" in info["libraries"] and PACKAGE in info["libraries"]
    for key in ("governor", "temperature_c", "throttled", "power_mode"):  # present even when unreadable
        assert key in info


# /proc/cpuinfo lines as those CPUs print them (abridged to the lines isa_features reads).
CPUINFO = {
    "epyc_avx2": ("model name\t: AMD EPYC 7B12\nflags\t\t: fpu sse4_2 avx fma avx2 bmi2\n",
                  "x86 AVX2 without VNNI", ["sse4_2", "avx2", "fma"]),
    "xeon_amx": ("flags\t\t: sse4_2 avx2 fma avx512f avx512bw avx512_vnni avx_vnni amx_tile amx_int8\n",
                 "x86 AMX", ["avx512_vnni", "amx_int8"]),
    "pi4_a72": ("processor\t: 0\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU part\t: 0xd08\n",
                "without int8 dot product", ["asimd"]),
    "pi5_a76": ("Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc "
                "dcpop asimddp\n", "ARM with int8 dot product", ["asimd", "asimddp", "asimdhp"]),
}


@pytest.mark.parametrize("cpu", sorted(CPUINFO))
def test_isa_features_name_the_int8_path(cpu):
    from edge.bench.system import isa_features

    text, path, some = CPUINFO[cpu]
    isa = isa_features(text)
    assert path in isa["int8_path"] and set(some) <= set(isa["features"])
    assert ("amx_int8" in isa["features"]) == (cpu == "xeon_amx")
    assert ("asimddp" in isa["features"]) == (cpu == "pi5_a76")


def test_every_report_names_the_cpu_features(stored_reports):
    from edge.bench.system import isa_features

    _, (out, _) = stored_reports
    report = json.loads((out / "models.json").read_text())
    assert report["system"]["isa"] == isa_features()
    assert "int8 path: " + isa_features()["int8_path"] in (out / "models.md").read_text()


def test_models_mode_on_shipped_models_writes_every_format(stored_reports, tflite_models, capsys):
    model, (out, _) = stored_reports
    report = json.loads((out / "models.json").read_text())
    ok = [r for r in report["results"] if r["status"] == "ok"]
    assert [r["model"] for r in ok] == [model.name] and ok[0]["threads"] == 1
    r = ok[0]
    assert r["n"] >= 20 and 0 < r["min_ms"] <= r["p50_ms"] <= r["p90_ms"] <= r["p99_ms"] <= r["max_ms"]
    assert r["init_ms"] > 0 and r["first_ms"] > 0 and r["throughput_ips"] > 0 and r["rss_mb"] > 0
    assert r["sha256"] == sha256(model)
    assert report["command"].startswith("edge-bench models --model")
    assert report["system"]["cpu"] and report["system"]["libraries"]["numpy"]
    md = (out / "models.md").read_text()
    assert report["command"] in md and "What it ran on" in md and r["sha256"] in md
    header = (out / "models.csv").read_text().splitlines()[0].split(",")
    assert {"id", "p50_ms", "p99_ms", "rss_added_mb"} <= set(header)
    try:
        import matplotlib  # noqa: F401
        assert (out / "models.png").read_bytes()[:4] == b"\x89PNG"
    except ImportError:
        assert not (out / "models.png").exists()


def test_models_mode_default_runs_every_shipped_model_and_thread_count(tmp_path, tflite_models):
    assert cli.main(["models", "--threads", "1,2", "--backend", TFLITE, *QUICK, "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "models.json").read_text())["results"]
    assert {(r["model"], r["threads"]) for r in rows} == {(p.name, n) for p in tflite_models for n in (1, 2)}
    assert all(r["status"] == "ok" for r in rows)


def test_missing_backend_is_marked_and_the_run_goes_on(tmp_path, tflite_models, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, MODULES[OTHER], None)  # makes its import fail, as on a bare device
    model = tflite_models[0]
    assert cli.main(["models", "--model", str(model), *QUICK, "--out", str(tmp_path)]) == 0
    rows = {r["backend"]: r for r in json.loads((tmp_path / "models.json").read_text())["results"]}
    assert rows[OTHER]["status"] == "missing"
    assert f"pip install {OTHER_PACKAGE}" in rows[OTHER]["error"]
    assert rows[TFLITE]["status"] == "ok"
    assert "missing" in capsys.readouterr().out


def test_failing_model_is_marked_failed_and_others_still_run(tmp_path, tflite_models):
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"this is not a flatbuffer" * 10)
    out = tmp_path / "out"
    assert cli.main(["models", "--model", str(broken), "--model", str(tflite_models[0]), "--backend", TFLITE,
                     *QUICK, "--out", str(out)]) == 0
    rows = {r["model"]: r for r in json.loads((out / "models.json").read_text())["results"]}
    assert rows["broken.tflite"]["status"] == "failed" and rows["broken.tflite"]["error"]
    assert rows[tflite_models[0].name]["status"] == "ok"


def test_compare_prints_new_over_old_for_every_figure(stored_reports, capsys):
    _, (a, b) = stored_reports
    assert cli.main(["compare", str(a / "models.json"), str(b / "models.json")]) == 0
    text = capsys.readouterr().out
    old = json.loads((a / "models.json").read_text())["results"][0]
    new = json.loads((b / "models.json").read_text())["results"][0]
    line = next(ln for ln in text.splitlines() if ln.split()[1:2] == ["p50_ms"])
    assert float(line.split()[-1]) == pytest.approx(new["p50_ms"] / old["p50_ms"], abs=1e-3)
    for figure in ("init_ms", "first_ms", "p90_ms", "p99_ms", "mean_ms", "std_ms", "throughput_ips", "rss_added_mb"):
        assert f" {figure} " in text


def test_compare_flag_after_a_run(stored_reports, capsys):
    model, (a, _) = stored_reports
    assert cli.main(["models", "--model", str(model), "--backend", TFLITE, *QUICK,
                     "--compare", str(a / "models.json")]) == 0
    assert "new/old" in capsys.readouterr().out


def test_compare_refuses_a_file_that_is_not_a_report(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(SystemExit, match="not an edge-bench report"):
        cli.main(["compare", str(bad), str(bad)])
    with pytest.raises(SystemExit, match="not found"):
        cli.main(["compare", str(tmp_path / "none.json"), str(bad)])


def test_bad_arguments_name_the_fix(capsys):
    with pytest.raises(SystemExit):
        cli.main(["models", "--threads", "0"])
    assert "--threads needs counts >= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="not found"):
        cli.main(["models", "--model", "/nonexistent/face.tflite", *QUICK])


def test_bench_imports_no_workstation_library(tflite_models):
    code = ("import sys; from edge.bench import cli; "
            f"cli.main(['models', '--model', {str(tflite_models[0])!r}, '--min-time', '0.02', '--warmup', '0.01']); "
            "print('HEAVY', sorted(m for m in ('tensorflow', 'librosa', 'mediapipe', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    assert "HEAVY []" in out


def test_speedups_pair_int8_with_float_of_the_same_model():
    from edge.bench.models import speedups

    row = lambda model, p50, backend="litert": {"model": model, "backend": backend, "threads": 1, "status": "ok", "p50_ms": p50}
    rows = [row("face_int8.tflite", 0.1), row("face_float32.tflite", 0.25), row("face_int8.onnx", 0.2, "onnxruntime"),
            row("voice_int8.tflite", 0.1), {"model": "voice_float32.tflite", "backend": "litert", "threads": 1, "status": "failed"}]
    out = speedups(rows)
    assert list(out) == ["face_int8.tflite vs face_float32.tflite (litert, 1 thr)"]
    assert out["face_int8.tflite vs face_float32.tflite (litert, 1 thr)"].startswith("speed-up 2.50x")


def test_system_command_prints_the_machine(capsys):
    assert cli.main(["system"]) == 0
    out = capsys.readouterr().out
    assert "- cpu: " in out and "- python: " in out and "- libraries: " in out


def test_unavailable_onnx_provider_is_a_failed_row_not_a_crash(tmp_path):
    pytest.importorskip("onnxruntime")
    onnx = [p for p in shipped_models() if p.suffix == ".onnx"]
    if not onnx:
        pytest.skip("edge/models/ ships no .onnx file")
    assert cli.main(["models", "--model", str(onnx[0]), "--providers", "NoSuchExecutionProvider", *QUICK,
                     "--out", str(tmp_path)]) == 0
    row = json.loads((tmp_path / "models.json").read_text())["results"][0]
    assert row["status"] == "failed" and "NoSuchExecutionProvider" in row["error"]


def test_without_matplotlib_the_png_is_skipped_with_a_message(tmp_path, monkeypatch, caplog):
    from edge.bench.report import write_plot

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as on a device without it: the import fails
    assert write_plot({"a": [1.0, 2.0]}, tmp_path / "x.png", "t") is False
    assert not (tmp_path / "x.png").exists() and "pip install matplotlib" in caplog.text
