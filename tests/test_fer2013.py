"""FER2013 loaders on tiny generated fixtures, their errors, and the training augmentation."""

import gzip

import cv2
import numpy as np
import pytest

from convert.face.augment import augment
from convert.face.fer2013 import DatasetError, Split, load, load_csv, load_folder, load_npz, save_npz
from edge.labels import FACE_LABELS


def _csv(rows):
    return "emotion,pixels,Usage\n" + "".join(f"{e},{' '.join(map(str, p))},{u}\n" for e, p, u in rows)


@pytest.fixture
def faces():
    rng = np.random.default_rng(0)
    usages = ["Training"] * 6 + ["PublicTest"] * 2 + ["PrivateTest"] * 3
    return [(i % 7, rng.integers(0, 256, 48 * 48), u) for i, u in enumerate(usages)]


@pytest.mark.parametrize("gz", [False, True])
def test_csv_plain_and_gz(tmp_path, faces, gz):
    path = tmp_path / ("f.csv.gz" if gz else "f.csv")
    text = _csv(faces).encode()
    path.write_bytes(gzip.compress(text) if gz else text)
    data = load_csv(path)
    assert {k: len(v) for k, v in data.items()} == {"Training": 6, "PublicTest": 2, "PrivateTest": 3}
    priv = data["PrivateTest"]
    assert priv.x.dtype == np.uint8 and priv.x.shape == (3, 48, 48)
    assert priv.y.tolist() == [8 % 7, 9 % 7, 10 % 7]
    assert np.array_equal(priv.x[0].ravel(), faces[8][1])


def test_csv_pick_keeps_only_the_asked_positions(tmp_path, faces):
    path = tmp_path / "f.csv"
    path.write_text(_csv(faces))
    data = load_csv(path, splits=("PrivateTest",), pick={"PrivateTest": {2}})
    assert data["PrivateTest"].y.tolist() == [10 % 7]


@pytest.mark.parametrize("bad, message", [
    ("3,1 2 3,Training", "row 3: pixels must be 2304 values"),
    ("x,{p},Training", "row 3: not a number"),
    ("9,{p},Training", "row 3: emotion 9 outside 0..6"),
    ("3,{p}", "row 3: 2 fields"),
    ("3,{p},Validation", "row 3: Usage 'Validation'"),
])
def test_malformed_row_names_file_and_row(tmp_path, faces, bad, message):
    path = tmp_path / "bad.csv"
    lines = _csv(faces[:1]) + bad.format(p=" ".join(["7"] * 2304)) + "\n"
    path.write_text(lines)
    with pytest.raises(DatasetError, match=message) as e:
        load_csv(path)
    assert str(path) in str(e.value)


def test_missing_file_and_wrong_header(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        load_csv(tmp_path / "none.csv")
    (tmp_path / "h.csv").write_text("label,image\n")
    with pytest.raises(DatasetError, match="row 1: header"):
        load_csv(tmp_path / "h.csv")


def test_image_folder_layout(tmp_path):
    rng = np.random.default_rng(1)
    for folder, n in (("train", 2), ("test", 1), ("val", 1)):
        for label in ("happy", "sad"):
            (tmp_path / folder / label).mkdir(parents=True)
            for i in range(n):
                size = 48 if i == 0 else 96  # a larger image is resized to 48x48
                cv2.imwrite(str(tmp_path / folder / label / f"{i}.png"), rng.integers(0, 256, (size, size), dtype=np.uint8))
    data = load(tmp_path)
    assert {k: len(v) for k, v in data.items()} == {"Training": 4, "PublicTest": 2, "PrivateTest": 2}
    assert data["Training"].x.shape == (4, 48, 48)
    assert sorted(set(data["Training"].y.tolist())) == [FACE_LABELS.index("happy"), FACE_LABELS.index("sad")]


def test_image_folder_rejects_unknown_labels(tmp_path):
    (tmp_path / "train" / "contempt").mkdir(parents=True)
    (tmp_path / "test").mkdir()
    with pytest.raises(DatasetError, match="contempt"):
        load_folder(tmp_path)


def test_npz_round_trip_is_lossless(tmp_path):
    rng = np.random.default_rng(2)
    split = Split(rng.integers(0, 256, (5, 48, 48), dtype=np.uint8), np.arange(5) % 7)
    back = load_npz(save_npz({"Training": split}, tmp_path / "d.npz"))["Training"]
    assert np.array_equal(back.x, split.x) and np.array_equal(back.y, split.y)


def test_augment_keeps_shape_and_changes_pixels():
    rng = np.random.default_rng(3)
    faces = np.tile(np.linspace(0, 255, 48, dtype=np.uint8), (8, 48, 1))  # horizontal ramp: a flip is visible
    out = augment(faces, rng)
    assert out.shape == faces.shape and out.dtype == np.uint8
    assert not np.array_equal(out, faces)
    same = augment(faces, rng, rotation=0, shift=0, zoom=0, erasing=0)
    flipped = np.array([np.array_equal(o, f[:, ::-1]) for o, f in zip(same, faces)])
    unchanged = np.array([np.array_equal(o, f) for o, f in zip(same, faces)])
    assert (flipped | unchanged).all()  # with no geometric jitter each face is either mirrored or left alone


def test_ferplus_votes_shares_and_majority(tmp_path):
    from convert.face import ferplus

    head = "row,image,Usage,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
    rows = ["0,a.png,Training,4,0,0,1,3,2,0,0,0,0",   # neutral leads: majority neutral
            "1,b.png,Training,0,0,0,0,0,0,0,6,4,0",   # contempt and unknown only: no target, no majority
            "2,c.png,PublicTest,0,5,5,0,0,0,0,0,0,0",  # a tie: no majority
            "3,d.png,PrivateTest,1,0,0,0,0,0,0,5,0,4"]  # contempt leads: no majority, neutral share 1.0
    path = tmp_path / "ferplus.csv"
    path.write_text(head + "\n".join(rows) + "\n")
    votes = ferplus.load_votes(path)
    assert {k: len(v) for k, v in votes.items()} == {"Training": 2, "PublicTest": 1, "PrivateTest": 1}
    shares = ferplus.shares(votes["Training"])
    assert shares[0].tolist() == pytest.approx([0.3, 0.2, 0.0, 0.0, 0.1, 0.0, 0.4])  # FACE_LABELS order
    assert shares[1].sum() == 0.0
    assert ferplus.majority(votes["Training"]).tolist() == [FACE_LABELS.index("neutral"), ferplus.NO_MAJORITY]
    assert ferplus.majority(votes["PublicTest"]).tolist() == [ferplus.NO_MAJORITY]
    assert ferplus.majority(votes["PrivateTest"]).tolist() == [ferplus.NO_MAJORITY]
    with pytest.raises(DatasetError, match="FER2013 CSV has 5"):
        ferplus.check_rows(votes["Training"], 5, "Training", path)
    (tmp_path / "bad.csv").write_text("row,image,Usage\n")
    with pytest.raises(DatasetError, match="not the FER\\+ votes file"):
        ferplus.load_votes(tmp_path / "bad.csv")


def test_ferplus_file_matches_the_shared_copy():
    from pathlib import Path

    from convert.face import ferplus
    from edge.bench.datasets import read_fer2013

    root = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "fer2013"
    if not (root / "ferplus.csv").is_file():
        pytest.skip("shared FER+ votes not present")
    votes = ferplus.load_votes(root / "ferplus.csv")
    # the split sizes of the original-pixel copy (shared/datasets/README.md): 28,558 / 3,579 / 3,573
    assert {k: len(v) for k, v in votes.items()} == {"Training": 28558, "PublicTest": 3579, "PrivateTest": 3573}
    _, y = read_fer2013(root / "fer2013.csv.gz", ("PrivateTest",))["PrivateTest"]
    assert len(y) == 3573
    major = ferplus.majority(votes["PrivateTest"])
    assert 0.5 < float(np.mean(major[major >= 0] == y[major >= 0])) < 0.8  # FER2013's label agrees on about 63 %


def test_ckplus_reader_splits_by_subject_and_names_bad_files(tmp_path, capsys):
    import cv2

    from edge.bench.datasets import DatasetError, read_ckplus

    for cls, subject in (("anger", 10), ("anger", 11), ("contempt", 12), ("happy", 13)):
        (tmp_path / cls).mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / cls / f"S{subject:03d}_001_00000017.png"), np.full((48, 48), subject, np.uint8))
    (tmp_path / "happy" / "S014_001_00000017.png").write_bytes(b"not a png")
    faces, labels, subjects = read_ckplus(tmp_path)
    assert "S014_001_00000017.png: not a readable image, skipped" in capsys.readouterr().err
    assert faces.shape == (4, 48, 48) and labels == ["angry", "angry", "happy", None]
    assert subjects.tolist() == [10, 11, 13, 12]  # class folders in CKPLUS_CLASSES order, contempt last
    assert read_ckplus(tmp_path, "train")[2].tolist() == [10, 12]
    assert read_ckplus(tmp_path, "test")[2].tolist() == [11, 13]
    (tmp_path / "fear").mkdir()
    (tmp_path / "fear" / "frame1.png").write_bytes(b"")
    with pytest.raises(DatasetError, match="frame1.png: not a CK\\+48 name"):
        read_ckplus(tmp_path)


def test_ckplus_halves_of_the_shared_copy_share_no_subject():
    from pathlib import Path

    from edge.bench.datasets import read_ckplus

    root = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "ckplus48"
    if not root.is_dir():
        pytest.skip("shared CK+48 not present")
    n = {h: read_ckplus(root, h) for h in ("train", "test")}
    assert len(n["train"][0]) + len(n["test"][0]) == 981  # shared/datasets/README.md
    assert not set(n["train"][2]) & set(n["test"][2])
    assert len(set(n["train"][2])) + len(set(n["test"][2])) == 118
