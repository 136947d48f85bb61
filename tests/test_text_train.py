"""The text model's workstation side: GoEmotions grouping, the metric, ensembles folded exactly, and a small model
trained, quantized and run through edge/ (int8 keeps the float decisions)."""

import json
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from convert.text.goemotions import EKMAN, grouping, load  # noqa: E402
from convert.text.task import (build_vocabulary, description, multilabel_scores, single_label_scores,  # noqa: E402
                               vectors)
from convert.text.train import build_model, face_probs, fold, with_grouping  # noqa: E402
from edge.labels import FACE_LABELS  # noqa: E402
from edge.classify.text import TextClassifier  # noqa: E402
from edge.text.features import TOKENISER  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "goemotions"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"GoEmotions not at {DATA}")


MELD = DATA.parent / "meld"


@pytest.mark.skipif(not MELD.is_dir(), reason=f"MELD not at {MELD}")
def test_meld_lines_labels_and_previous_line():
    from convert.text.meld import load as load_meld

    dev = load_meld(MELD, ("dev",))["dev"]
    assert len(dev) == 1109 and (dev.y.sum(axis=1) == 1).all()
    assert dict(zip(FACE_LABELS, dev.y.sum(axis=0).astype(int)))["neutral"] == 470  # the dataset README's count
    prev = dev.previous()
    first = dev.utterance == 0
    has = prev >= 0
    assert (prev[first] == -1).all() and has[~first].mean() > 0.95  # MELD lacks a few lines inside dialogues
    assert (dev.dialogue[prev[has]] == dev.dialogue[has]).all()  # the previous line of the same dialogue
    assert (dev.utterance[prev[has]] == dev.utterance[has] - 1).all()
    assert not any("\ufffd" in t for t in dev.texts)


def test_single_label_scores_uar_and_weighted_f1():
    y = np.eye(7, dtype=np.float32)[[6, 6, 6, 3]]  # three neutral lines, one happy
    probs = np.eye(7, dtype=np.float32)[[6, 6, 3, 3]]
    m = single_label_scores(y, probs)
    assert m["uar"] == pytest.approx((2 / 3 + 1.0) / 7)  # recall over all 7 labels, absent ones count 0
    f_neutral, f_happy = 2 * 2 / (2 * 2 + 1), 2 * 1 / (2 * 1 + 1)
    assert m["weighted_f1"] == pytest.approx((3 * f_neutral + 1 * f_happy) / 4) and m["accuracy"] == 0.75


@needs_data
def test_ekman_grouping_covers_every_category_once():
    g = grouping(DATA)
    assert g.shape == (28, 7) and (g.sum(axis=1) == 1).all()
    assert sum(len(c) for c in EKMAN.values()) == 28 and set(EKMAN) == set(FACE_LABELS)
    test = load(DATA, ("test",))["test"]
    assert len(test) == 5427 and (test.y.sum(axis=1) >= 1).all()
    assert np.array_equal(test.fine @ g > 0, test.y > 0)  # grouping the categories gives the grouped labels


def test_metric_counts_multi_label_rows_and_refused_texts():
    y = np.array([[1, 0, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 1]], np.float32)
    probs = np.eye(7, dtype=np.float32)[[0, 1, 0]]
    probs = np.vstack([probs, np.full((1, 7), np.nan)])  # a 4th row the device refused (not English)
    m = multilabel_scores(np.vstack([y, [[0, 0, 0, 1, 0, 0, 0]]]), probs)
    assert m["per_class"]["angry"] == {"f1": 0.5, "precision": 0.5, "recall": 0.5, "support": 2}
    assert m["per_class"]["disgust"]["f1"] == 1.0  # right on a two-label row
    assert m["per_class"]["happy"]["recall"] == 0.0  # refused: a false negative, no prediction
    assert m["accuracy_single"] == pytest.approx(1 / 3) and m["n_single"] == 3


def test_folded_ensemble_averages_the_members_logits_and_grouping_sums_categories():
    rng = np.random.default_rng(0)
    members = [build_model(50, 8, 0.0, 0.0, 28) for _ in range(3)]
    for m in members:
        m.set_weights([w + rng.normal(0, 0.3, w.shape).astype(np.float32) for w in m.get_weights()])
    args = Namespace(hidden=8, dropout_in=0.0, dropout=0.0)
    x = rng.random((5, 50)).astype(np.float32)
    folded = fold(members, 50, args, 28)
    logits = [face_probs(m.predict(x, verbose=0), None) for m in members]
    mean_logits = np.mean([np.log(p) for p in logits], axis=0)  # log-softmax differs from logits by a constant
    expected = np.exp(mean_logits) / np.exp(mean_logits).sum(axis=1, keepdims=True)
    assert np.allclose(folded.predict(x, verbose=0), expected, atol=1e-5)
    g = np.eye(28, 7, dtype=np.float32)
    g[7:, 6] = 1.0
    grouped = with_grouping(folded, g).predict(x, verbose=0)
    assert grouped.shape == (5, 7) and np.allclose(grouped.sum(axis=1), 1.0, atol=1e-5)


@needs_data
def test_small_text_model_trains_quantizes_and_runs_through_edge(tmp_path):
    import keras

    from convert.quantize import export_all
    from convert.text.task import VOCABULARY_FILE

    train = load(DATA, ("train",))["train"]
    # Tokeniser v1 here (the shipped model is v2, run by tests/test_text.py): v1 models still train and run on the device.
    vec = build_vocabulary(train.texts, tmp_path, ngram_max=2, min_df=3, max_size=2000, max_tokens=64, prefix_chars=5,
                           tokeniser=TOKENISER)
    x = vectors(vec, train.texts[:4000])
    model = build_model(vec.spec.size, 16, 0.2, 0.2)
    model.compile(keras.optimizers.Adam(3e-3), "categorical_crossentropy")
    y = train.y[:4000] / train.y[:4000].sum(axis=1, keepdims=True)
    model.fit(x, y, epochs=3, batch_size=128, verbose=0)
    paths = export_all(model, x[:500], tmp_path / "export", "text", description(vec.spec, "test"),
                       targets=("tflite-int8", "onnx-float32", "onnx-int8"))
    (tmp_path / "export" / VOCABULARY_FILE).write_bytes((tmp_path / VOCABULARY_FILE).read_bytes())
    sidecar = json.loads(Path(str(paths["tflite-int8"]) + ".json").read_text())
    assert sidecar["task"] == "text" and sidecar["preprocess"]["vocabulary_sha256"] == vec.spec.vocabulary_sha256
    assert sidecar["preprocess"]["tokeniser"] == TOKENISER
    keras_pred = model.predict(x[:500], verbose=0).argmax(1)
    for target in ("tflite-int8", "onnx-int8"):
        clf = TextClassifier(paths[target], backend="onnxruntime" if target.startswith("onnx") else None)
        results = [clf.classify(t) for t in train.texts[:500]]  # the device path: checks, tokens, vocabulary, model
        agree = [int(np.argmax(r.probs)) == k for r, k in zip(results, keras_pred) if r.probs is not None]
        assert len(agree) > 450 and np.mean(agree) > 0.9, target  # int8 keeps the float decisions
