"""Events end to end: `edge-emotion run` on the two-face tracking clip publishing to a real mosquitto, and in the
JSON lines on stdout when asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mosquitto import MOSQUITTO, Broker, Subscriber

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"


@pytest.mark.skipif(not os.path.exists(MOSQUITTO), reason="needs mosquitto: apt-get install mosquitto")
@pytest.mark.skipif(not (DATASETS / "face-photos").is_dir(), reason="../shared/datasets/face-photos is missing")
def test_run_publishes_new_update_end_per_track(tmp_path):
    from convert.clips.tracking import build

    build(DATASETS, tmp_path / "clip")
    broker = Broker(tmp_path / "broker").start()
    sub = Subscriber(broker, "edge-emotion/clip/#")
    cfg = tmp_path / "run.toml"
    cfg.write_text(f"[video]\nsource = \"{tmp_path / 'clip' / 'tracking.mp4'}\"\nrealtime = false\n"
                   "[audio]\nsource = \"none\"\n[output]\npublisher = \"mqtt\"\n"
                   f"[mqtt]\nhost = \"127.0.0.1\"\nport = {broker.port}\ndevice_id = \"clip\"\n")
    try:
        p = subprocess.run([sys.executable, "-m", "edge.cli", "run", "--config", str(cfg)], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        assert sub.wait_for(lambda: len(sub.on("edge-emotion/clip/emotion")) == 200)
        events = [json.loads(m.payload) for m in sub.on("edge-emotion/clip/events")]
    finally:
        sub.close()
        broker.stop()
    results = [json.loads(m.payload) for m in sub.on("edge-emotion/clip/emotion")]
    by_track: dict[int, list[dict]] = {}
    for e in events:
        assert e["schema"] == "edge-emotion/event/1"
        by_track.setdefault(e["track_id"], []).append(e)
    # A (track 1) and B (track 2) from the start; A away for 3 s comes back as track 3; every track ends
    assert sorted(by_track) == [1, 2, 3], [(e["type"], e["track_id"]) for e in events]
    for tid, evs in by_track.items():
        types = [e["type"] for e in evs]
        assert types[0] == "new" and types[-1] == "end" and set(types[1:-1]) <= {"update"}, (tid, types)
        for e in evs:
            if e["type"] == "update":
                assert e["before"]["emotion"] != e["after"]["emotion"]
                # the new emotion began before it was reported (min_duration_s is in stream time: this run is
                # faster than real time, so wall-clock gaps are shorter; tests/test_track.py checks the duration)
                assert e["before"]["since"] <= e["after"]["since"] < e["ts"]
    end_1 = events.index(by_track[1][-1])
    assert end_1 < events.index(by_track[3][0])  # A's first track closed before A came back
    # the results carry the same ids, and fused follows the longest-seen face
    ids = {f["track_id"] for r in results for f in r["faces"]}
    assert ids == {1, 2, 3}
    assert all(r["fused"]["track_id"] in (None, 1, 2, 3) for r in results)
    assert results[50]["fused"]["track_id"] == 1


def test_events_in_the_json_lines_when_asked(tmp_path):
    cfg = tmp_path / "offline.toml"
    cfg.write_text("[video]\nsource = \"sample\"\nrealtime = false\n[audio]\nsource = \"none\"\n")
    base = [sys.executable, "-m", "edge.cli", "run", "--config", str(cfg)]
    with_events = subprocess.run(base + ["--events"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert with_events.returncode == 0, with_events.stderr
    lines = [json.loads(line) for line in with_events.stdout.splitlines()]
    events = [x for x in lines if x["schema"] == "edge-emotion/event/1"]
    results = [x for x in lines if x["schema"] == "edge-emotion/result/1"]
    assert len(results) == 240 and events[0]["type"] == "new" and events[-1]["type"] == "end"
    # each event comes right after the result of the frame that decided it
    first = lines.index(events[0])
    assert lines[first - 1]["schema"] == "edge-emotion/result/1" and events[0]["track_id"] in \
        {f["track_id"] for f in lines[first - 1]["faces"]}
    plain = subprocess.run(base, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert all(json.loads(line)["schema"] == "edge-emotion/result/1" for line in plain.stdout.splitlines())
