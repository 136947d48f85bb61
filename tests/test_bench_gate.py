"""The flashing gates: real shipped models on the real FER2013 / Emo-DB files, exit status against a floor, a p50
ceiling and an older report (issue 22: speed gate, compare gates, held-out voice speakers)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from edge.bench import cli
from edge.bench.data import DataError, emodb_files, fer2013_split
from edge.paths import FACE_MODEL, MODELS_DIR, VOICE_MODEL
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


def held_out(tmp_path: Path, n: int = 6, trained: int = 2) -> Path:
    """An Emo-DB folder whose first `n` files are given to speaker 10, plus `trained` files of speaker 03.

    Emo-DB has 10 speakers; the copy here holds only the 8 the shipped voice model trained on, so held-out data is
    made by renaming: it checks which files are scored, not how well a new voice is recognised.
    """
    files = sorted(EMODB.glob("03*.wav"))
    folder = tmp_path / "heldout"
    folder.mkdir()
    for f in files[:n]:
        shutil.copy(f, folder / ("10" + f.name[2:]))
    for f in files[n:n + trained]:
        shutil.copy(f, folder / f.name)
    return folder


def test_voice_gate_refuses_speakers_the_model_trained_on(tmp_path):
    """Every speaker of the Emo-DB copy trained the shipped voice model: a score there would read 1.000."""
    need(EMODB, VOICE_MODEL)
    args = ["models", "--model", str(VOICE_MODEL), *QUICK, "--accuracy", str(EMODB), "--out", str(tmp_path)]
    with pytest.raises(SystemExit, match=r"every speaker in it \(03, 08, 09, 11, 12, 13, 15, 16\) trained "
                                         r"voice_int8.tflite .*held-out data"):
        cli.main(args)
    assert not (tmp_path / "models.json").exists()  # refused before the latency runs


def test_voice_gate_scores_only_held_out_speakers(tmp_path):
    need(EMODB, VOICE_MODEL)
    data = held_out(tmp_path)
    args = ["models", "--model", str(VOICE_MODEL), *QUICK, "--accuracy", str(data), "--out", str(tmp_path / "r")]
    assert cli.main([*args, "--min-accuracy", "1.0"]) in (0, cli.EXIT_BELOW_FLOOR)
    gate = json.loads((tmp_path / "r" / "models.json").read_text())["accuracy"][0]
    assert gate["n"] == 6 and gate["speakers"] == ["10"] and gate["trained_speakers_left_out"] == ["03"]
    assert 0.0 <= gate["accuracy"] <= 1.0 and gate["passed"] == (gate["accuracy"] >= 1.0)


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
    data = held_out(tmp_path)
    strict = AudioConfig(min_level_db=-3.0)
    (default,) = gate([VOICE_MODEL], data, None, limit=6)
    (gated,) = gate([VOICE_MODEL], data, None, limit=6, audio=strict)
    assert default["accuracy"] > 0 and gated["accuracy"] == 0.0


# -- speed gate, summary table and compare gates (issue 22, item 5) -----------------------------------------------


def test_p50_gate_fails_an_absurdly_small_ceiling_and_passes_a_huge_one(tmp_path, capsys):
    args = ["models", "--model", str(FACE_MODEL), "--model", str(VOICE_MODEL), *QUICK]
    assert cli.main([*args, "--max-p50-ms", "0.000001", "--out", str(tmp_path)]) == cli.EXIT_TOO_SLOW
    out = capsys.readouterr().out
    assert out.count("summary (p50") == 1 and "FAIL p50" in out
    report = json.loads((tmp_path / "models.json").read_text())
    assert [g["passed"] for g in report["speed_gate"]] == [False, False]
    rows = {r["model"]: r for r in report["gate_summary"]}
    assert set(rows) == {FACE_MODEL.name, VOICE_MODEL.name}
    assert rows[FACE_MODEL.name]["format"] == "tflite int8" and rows[FACE_MODEL.name]["status"].startswith("FAIL p50")
    assert "## Summary per model" in (tmp_path / "models.md").read_text()
    assert cli.main([*args, "--max-p50-ms", "1e9"]) == 0
    out = capsys.readouterr().out
    assert out.count("summary (p50") == 1 and "FAIL" not in out


def test_p50_gate_fails_a_model_it_could_not_measure(tmp_path):
    bad = tmp_path / "broken.tflite"
    bad.write_bytes(b"not a flatbuffer" * 64)
    assert cli.main(["models", "--model", str(bad), *QUICK, "--max-p50-ms", "1e9", "--out", str(tmp_path)]) == \
        cli.EXIT_TOO_SLOW
    (g,) = json.loads((tmp_path / "models.json").read_text())["speed_gate"]
    assert g["passed"] is False and g["reason"].startswith("not measured")


def bench(tmp_path: Path, name: str, model: Path, *extra: str) -> Path:
    out = tmp_path / name
    assert cli.main(["models", "--model", str(model), *QUICK, *extra, "--out", str(out)]) in (0, cli.EXIT_BELOW_FLOOR)
    return out / "models.json"


def test_compare_matches_differently_named_models_by_role(tmp_path, capsys):
    """`face_large` flashed as my_face.tflite: compared with face_int8.tflite by role, its new bytes flagged."""
    mine = tmp_path / "my_face.tflite"
    shutil.copy(MODELS_DIR / "face_large_int8.tflite", mine)
    shutil.copy(MODELS_DIR / "face_large_int8.tflite.json", tmp_path / "my_face.tflite.json")
    old, new = bench(tmp_path, "old", FACE_MODEL), bench(tmp_path, "new", mine)
    capsys.readouterr()
    assert cli.main(["compare", str(old), str(new), "--max-slowdown", "1e6"]) == 0  # matched: else "no case matches"
    out = capsys.readouterr().out
    assert "no result of the new run matches" not in out and "gates: pass" in out
    assert "sha256 changed: face_int8.tflite" in out and "-> my_face.tflite" in out and "role 'face'" in out
    assert cli.main(["compare", str(old), str(new), "--max-slowdown", "1e-6"]) == cli.EXIT_TOO_SLOW
    assert "FAIL my_face.tflite|" in capsys.readouterr().out
    assert cli.main(["compare", str(old), str(new)]) == 0  # no gate asked: figures and notes only


def test_compare_gates_an_accuracy_drop_and_flags_the_changed_setting(tmp_path, capsys):
    """The same voice model gated by a stricter [audio] section: every utterance is turned away, accuracy 0."""
    need(EMODB, VOICE_MODEL)
    data = held_out(tmp_path)
    strict = tmp_path / "strict.toml"
    strict.write_text("[audio]\nmin_level_db = -3.0\n")
    acc = ["--accuracy", str(data)]
    old = bench(tmp_path, "old", VOICE_MODEL, *acc)
    new = bench(tmp_path, "new", VOICE_MODEL, *acc, "--config", str(strict))
    assert json.loads(old.read_text())["accuracy"][0]["accuracy"] > 0.0
    assert json.loads(new.read_text())["accuracy"][0]["accuracy"] == 0.0
    capsys.readouterr()
    assert cli.main(["compare", str(old), str(new), "--max-accuracy-drop", "0.01"]) == cli.EXIT_BELOW_FLOOR
    out = capsys.readouterr().out
    assert "FAIL voice_int8.tflite: accuracy 0.0000" in out and "setting changed: config None ->" in out
    assert cli.main(["compare", str(old), str(old), "--max-accuracy-drop", "0", "--max-slowdown", "1e6"]) == 0


def test_compare_gate_without_accuracy_in_the_reports_fails(tmp_path, capsys):
    old = bench(tmp_path, "old", VOICE_MODEL)
    assert cli.main(["compare", str(old), str(old), "--max-accuracy-drop", "0.01"]) == cli.EXIT_BELOW_FLOOR
    assert "run both reports with --accuracy" in capsys.readouterr().out
