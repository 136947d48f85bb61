"""`edge-emotion infer` on real photos, a real Emo-DB WAV, the demo video, and broken inputs."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from edge import paths

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets"
PHOTOS = DATA / "face-photos"
EMODB = DATA / "emodb" / "wav"

needs_data = pytest.mark.skipif(not PHOTOS.is_dir() or not EMODB.is_dir(), reason=f"shared datasets not at {DATA}")


def infer(*args):
    p = subprocess.run([sys.executable, "-m", "edge.cli", "infer", *map(str, args)], capture_output=True, text=True,
                       cwd=ROOT, timeout=300)
    return p.returncode, [json.loads(line) for line in p.stdout.splitlines()], p.stderr


def photos(n):
    with open(PHOTOS / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [PHOTOS / "images" / r["image"] for r in rows[:n]]


@needs_data
def test_good_corrupt_and_missing_inputs_each_get_a_line(tmp_path):
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(photos(1)[0].read_bytes()[:200])  # a truncated JPEG
    not_wav = tmp_path / "noise.wav"
    not_wav.write_bytes(b"this is not a wav file at all")
    inputs = photos(3) + [corrupt, tmp_path / "missing.png", EMODB / "03a01Wa.wav", not_wav]
    code, lines, _ = infer(*inputs)
    assert code == 0
    assert [line["input"] for line in lines] == [str(p) for p in inputs]
    for line in lines[:3]:
        assert line["faces"], f"no face in {line['input']}"
        assert line["fused"]["emotion"] == line["faces"][0]["emotion"]
        assert line["audio"] is None and line["audio_reason"] == "no audio input"
    assert "error" in lines[3] and "truncated or damaged JPEG" in lines[3]["error"]
    assert "no such file" in lines[4]["error"]
    wav = lines[5]
    assert wav["faces"] == [] and wav["audio"]["emotion"] in wav["audio"]["probs"]
    assert wav["fused"]["sources"] == ["voice"]
    assert lines[6]["input"].endswith("noise.wav") and "a text file, not an image, video or WAV" in lines[6]["error"]


def test_every_input_failing_exits_non_zero(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG garbage")
    code, lines, _ = infer(bad, tmp_path / "missing.jpg")
    assert code == 1
    assert all("error" in line for line in lines) and len(lines) == 2


@needs_data
def test_folder_and_crop_mode(tmp_path):
    folder = tmp_path / "faces"
    folder.mkdir()
    image = cv2.imread(str(photos(1)[0]))
    h, w = image.shape[:2]
    crop = image[h // 6: h - h // 6, w // 6: w - w // 6]  # a tight face crop, as in pre-cut datasets
    cv2.imwrite(str(folder / "a.png"), crop)
    shutil.copy(photos(2)[1], folder / "b.jpg")
    (folder / "notes.txt").write_text("ignored: not an image")
    code, lines, _ = infer("--crop", folder)
    assert code == 0 and len(lines) == 2
    a = lines[0]
    assert a["input"].endswith("a.png")
    assert a["faces"][0]["box"] == [0, 0, crop.shape[1], crop.shape[0]] and a["faces"][0]["score"] == 1.0


def test_video_with_its_sound_track():
    code, lines, _ = infer(paths.SAMPLE_VIDEO)
    assert code == 0
    (v,) = lines
    assert v["frames"] == 240 and v["analysed_frames"] == 120  # 10 fps sampled at 5 fps
    assert sum(1 for t in v["timeline"] if t["faces"]) >= 110
    assert v["audio"] is not None  # demo.wav beside demo.mp4 is its sound track
    assert v["fused"]["sources"] == ["face", "voice"]


@needs_data
def test_infer_gates_speech_with_the_audio_section_like_run(tmp_path):
    """[audio] min_level_db and min_speech_s reach `infer` as they reach the live loop."""
    strict = tmp_path / "strict.toml"
    strict.write_text("[audio]\nmin_level_db = -3.0\n")  # louder than any Emo-DB utterance
    wav = EMODB / "03a01Wa.wav"
    _, (default,), _ = infer(wav)
    _, (gated,), _ = infer("--config", strict, wav)
    assert default["audio"] is not None
    assert gated["audio"] is None and gated["audio_reason"] == "too quiet"
    long_min = tmp_path / "long.toml"
    long_min.write_text("[audio]\nmin_speech_s = 20.0\n")
    _, (short,), _ = infer("--config", long_min, wav)
    assert short["audio"] is None and short["audio_reason"] == "too short"
