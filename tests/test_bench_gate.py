"""The flashing gate: real shipped models on the real FER2013 / Emo-DB files, exit status against a floor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.bench import cli
from edge.bench.data import DataError, emodb_files, fer2013_split
from edge.paths import FACE_MODEL, VOICE_MODEL
from tflite_backend import TFLITE

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
FER = DATA / "fer2013" / "fer2013.csv.gz"
EMODB = DATA / "emodb" / "wav"
QUICK = ["--min-time", "0.05", "--warmup", "0.01", "--backend", TFLITE]


def need(*paths: Path) -> None:
    for p in paths:
        if not p.exists():
            pytest.skip(f"{p} not present")


def test_fer2013_reader_takes_only_the_asked_split():
    need(FER)
    faces, labels = fer2013_split(FER, "PrivateTest", limit=50)
    assert faces.shape == (50, 48, 48) and faces.dtype.name == "uint8" and len(labels) == 50
    assert set(labels) <= {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}


def test_readers_refuse_wrong_layouts(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(DataError, match="not a FER2013 CSV"):
        fer2013_split(bad)
    (tmp_path / "hello.wav").write_bytes(b"")
    with pytest.raises(DataError, match="not an Emo-DB name"):
        list(emodb_files(tmp_path))
    with pytest.raises(DataError, match="empty not found"):
        list(emodb_files(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no .wav files"):
        list(emodb_files(tmp_path / "empty"))


def test_face_gate_fails_below_its_floor_and_passes_above(tmp_path, capsys):
    need(FER, FACE_MODEL)
    args = ["models", "--model", str(FACE_MODEL), *QUICK, "--accuracy", str(FER), "--limit", "300"]
    assert cli.main([*args, "--min-accuracy", "0.99", "--out", str(tmp_path)]) == cli.EXIT_BELOW_FLOOR
    gate = json.loads((tmp_path / "models.json").read_text())["accuracy"]
    assert len(gate) == 1 and gate[0]["n"] == 300 and gate[0]["passed"] is False
    assert "FAIL" in capsys.readouterr().out
    # a trained 7-class model is well above chance (1/7) on real FER2013 faces
    floor = 0.3
    assert cli.main([*args, "--min-accuracy", str(floor)]) == 0
    assert "pass" in capsys.readouterr().out


def test_voice_gate_on_emodb(tmp_path):
    need(EMODB, VOICE_MODEL)
    args = ["models", "--model", str(VOICE_MODEL), *QUICK, "--accuracy", str(EMODB), "--limit", "40"]
    assert cli.main([*args, "--min-accuracy", "1.0", "--out", str(tmp_path)]) in (0, cli.EXIT_BELOW_FLOOR)
    gate = json.loads((tmp_path / "models.json").read_text())["accuracy"][0]
    assert gate["n"] == 40 and 0.0 <= gate["accuracy"] <= 1.0
    assert gate["passed"] == (gate["accuracy"] >= 1.0)


def test_gate_errors_name_the_fix(tmp_path, capsys):
    need(FER)
    blaze = sorted(Path(cli.__file__).resolve().parents[1].joinpath("models").glob("blazeface*.tflite"))[0]
    with pytest.raises(SystemExit, match="no face model was benchmarked"):
        cli.main(["models", "--model", str(blaze), *QUICK, "--accuracy", str(FER)])
    with pytest.raises(SystemExit, match="needs --accuracy"):
        cli.main(["models", "--model", str(blaze), *QUICK, "--min-accuracy", "0.5"])
    with pytest.raises(SystemExit, match="FER2013 CSV"):
        cli.main(["models", "--model", str(blaze), *QUICK, "--accuracy", str(tmp_path / "nothing.txt")])
    with pytest.raises(SystemExit):
        cli.main(["models", "--min-accuracy", "60"])
    assert "fraction in 0..1" in capsys.readouterr().err


def test_voice_gate_uses_the_audio_section_of_the_config(tmp_path):
    """`edge-bench --accuracy --config` gates speech as `run` does: a minimum level above every utterance scores 0."""
    from edge.bench.accuracy import gate
    from edge.config import AudioConfig

    need(EMODB, VOICE_MODEL)
    strict = AudioConfig(min_level_db=-3.0)
    (default,) = gate([VOICE_MODEL], EMODB, None, limit=6)
    (gated,) = gate([VOICE_MODEL], EMODB, None, limit=6, audio=strict)
    assert default["accuracy"] > 0 and gated["accuracy"] == 0.0
