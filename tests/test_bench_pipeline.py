"""edge-bench pipeline mode: the real runtime loop on the bundled demo clip."""

from __future__ import annotations

import json

import pytest

from edge.bench import cli
from edge.paths import FACE_MODEL, SAMPLE_VIDEO, VOICE_MODEL
from edge.result import STAGES


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    for p in (FACE_MODEL, VOICE_MODEL, SAMPLE_VIDEO):
        if not p.exists():
            pytest.skip(f"{p} not present")
    out = tmp_path_factory.mktemp("pipeline")
    assert cli.main(["pipeline", "--duration", "4", "--out", str(out)]) == 0
    return out, json.loads((out / "pipeline.json").read_text())


def test_every_stage_is_reported_and_the_busy_ones_ran(report):
    _, rep = report
    rows = {r["stage"]: r for r in rep["results"]}
    assert list(rows) == [*STAGES, "total"]
    for stage in ("capture", "detect", "preprocess", "classify", "fuse", "total"):
        r = rows[stage]
        assert r["n"] > 0 and 0 < r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"], stage
    assert sum(rows[s]["share_pct"] for s in STAGES) == pytest.approx(100.0)


def test_summary_says_speed_drops_cpu_memory_and_the_dominant_stage(report):
    out, rep = report
    s = rep["summary"]
    # the demo clip plays at 10 fps: 4 s give a few dozen frames
    assert s["results"] >= 5 and s["fps"] > 0 and s["dropped_frames"] >= 0
    assert s["cpu_pct_one_core"] > 0 and s["rss_mb"] > 0 and s["peak_rss_mb"] >= s["rss_mb"] * 0.9
    assert s["dominant_stage"].split()[0] in STAGES
    # which models ran, read from the loop itself: the bundled face and voice files and the default detector
    assert f"face: {FACE_MODEL.name} (" in s["models"] and f"voice: {VOICE_MODEL.name} (" in s["models"]
    assert "detector: " in s["models"]
    md = (out / "pipeline.md").read_text()
    assert "dominant_stage" in md and rep["command"] in md
    assert (out / "pipeline.csv").exists()


def test_pipeline_compare_includes_the_summary_figures(report, capsys):
    out, _ = report
    assert cli.main(["compare", str(out / "pipeline.json"), str(out / "pipeline.json")]) == 0
    text = capsys.readouterr().out
    assert "summary" in text and " fps " in text and "detect" in text


def test_bad_source_is_a_clear_error():
    if not FACE_MODEL.exists():
        pytest.skip(f"{FACE_MODEL} not present")
    with pytest.raises(SystemExit, match="edge-bench pipeline"):
        cli.main(["pipeline", "--source", "/nonexistent/clip.mp4", "--audio", "none", "--duration", "2"])
