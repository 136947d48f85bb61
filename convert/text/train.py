"""`edge-convert train-text`: the text model, GoEmotions (Ekman grouping onto the face labels) and MELD lines.

A bag of word unigrams and bigrams, word prefixes and letter n-grams (tf-idf, edge/text/features.py: the device
computes the same vector), one hidden layer, softmax over the 7 face labels or over the 28 GoEmotions categories
(`--fine`) plus, with MELD, 7 outputs of MELD's own, all summed into the 7 face labels. Multi-label rows train
towards their labels shared equally. Selection on dev (GoEmotions dev macro-F1, with MELD the mean of it, MELD dev
UAR and MELD dev weighted F1); then one additive offset per face label on the logits, chosen on the same dev score
(rare classes such as disgust gain), is folded into the last layer's bias.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from pathlib import Path

import numpy as np

from edge.labels import FACE_LABELS

from edge.text.features import SPOKEN_PARTS, TOKENISER, TOKENISER_SPOKEN

from .. import DATASETS
from . import meld
from .goemotions import grouping, load
from .task import (MELD_DATA, TRAINING_DATA, build_vocabulary, load_vectoriser, multilabel_scores,
                        single_label_scores, vectors)

logger = logging.getLogger(__name__)

DEFAULT_DATA = DATASETS / "goemotions"
MODEL_FILE = "text.keras"  # best on dev (with the offsets folded in), what `quantize --task text` takes
BEST_RAW_FILE = "best_raw.keras"  # a member's best epoch, before folding and offsets
CHECKPOINT_FILE = "checkpoint.keras"
STATE_FILE = "state.json"
OFFSET_GRID = np.linspace(-2.0, 2.0, 41)  # logit offsets tried per class (0.1 steps)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=str(DEFAULT_DATA), help="GoEmotions folder (labels.txt, train/dev/test.tsv)")
    p.add_argument("--out", required=True, help="output folder (model, vocabulary, spec, summary)")
    p.add_argument("--vocab-size", type=int, default=16384, help="most frequent n-grams kept (the model's input width)")
    p.add_argument("--min-df", type=int, default=2, help="an n-gram must occur in this many training comments")
    p.add_argument("--ngram-max", type=int, default=2, help="1: words only, 2: words and word pairs")
    p.add_argument("--max-tokens", type=int, default=64, help="tokens read per text (longer ones are cut)")
    p.add_argument("--prefix-chars", type=int, default=0, help="also word-prefix features of this many letters (0: none)")
    p.add_argument("--spoken", action="store_true", help="tokeniser v2 (edge-emotion/words-2): contractions expanded, "
                                                          "fillers dropped, negation and intensifiers marked")
    p.add_argument("--chars", type=int, nargs=2, default=(0, 0), metavar=("LO", "HI"),
                   help="also letter n-grams of LO..HI inside words (0 0: none)")
    p.add_argument("--char-weight", type=float, default=0.5, help="length of the letter n-grams' part of the vector "
                                                                  "(the rest has length 1); 0: all normalised as one")
    p.add_argument("--meld", default=str(meld.DEFAULT_MELD), help="MELD folder (train for training, dev for "
                                                                  "selection); empty: GoEmotions alone")
    p.add_argument("--meld-dev-only", action="store_true", help="MELD dev for selection and figures, MELD train "
                                                                "not learnt from (GoEmotions alone)")
    p.add_argument("--goemotions-share", type=float, default=1 / 3, help="with MELD: GoEmotions dev macro-F1's part "
                                                                        "of the dev score (MELD dev UAR and weighted "
                                                                        "F1 share the rest equally)")
    p.add_argument("--meld-weight", type=float, default=1.0, help="weight of a MELD line against a comment")
    p.add_argument("--spoken-without", nargs="*", default=[], choices=sorted(SPOKEN_PARTS),
                   help="with --linear --spoken: leave these parts of v2 out (feature ablation; no model is shipped)")
    p.add_argument("--linear", action="store_true", help="a linear probe instead of the MLP (scikit-learn logistic "
                                                          "regression over the face labels, C=--linear-c, class-"
                                                          "balanced): dev figures only, for comparing features")
    p.add_argument("--linear-c", type=float, default=2.0)
    p.add_argument("--class-weight", action="store_true", help="weight rows by inverse label frequency (rare labels "
                                                                "such as disgust count more)")
    p.add_argument("--hidden", type=int, default=64, help="units of the hidden layer")
    p.add_argument("--dropout-in", type=float, default=0.3, help="dropout on the input features (n-gram dropout)")
    p.add_argument("--dropout", type=float, default=0.5, help="dropout after the hidden layer")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW decoupled weight decay")
    p.add_argument("--patience", type=int, default=4, help="stop after this many epochs without a better dev macro-F1")
    p.add_argument("--ensemble", type=int, default=1, help="train this many members (seeds SEED, SEED+1, ...) and "
                                                          "fold them into one model averaging their logits")
    p.add_argument("--fine", action="store_true", help="train on the 28 GoEmotions categories (finer supervision); "
                                                        "the shipped graph sums them into the 7 face labels")
    p.add_argument("--temperature", action="store_true", help="also divide the logits by the temperature with the "
                                                               "lowest dev log-loss (calibration for the fusion; off: "
                                                               "text v2's logits were calibrated within 0.0003 of the "
                                                               "best log-loss at 1.0, and 0.9 cost 0.5 points of dev "
                                                               "score, runs/text_v2a)")
    p.add_argument("--no-offsets", action="store_true", help="skip the per-class logit offsets tuned on dev")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--resume", action="store_true", help="continue from the checkpoints in OUT (each member's)")
    p.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2))


def build_model(size: int, hidden: int, dropout_in: float, dropout: float, classes: int = len(FACE_LABELS)):
    """Input -> dropout -> hidden (ReLU) -> dropout -> logits -> softmax over `classes` (7 labels or 28 categories)."""
    import keras

    inp = keras.Input((size,), name="input")
    x = keras.layers.Dropout(dropout_in)(inp)
    x = keras.layers.Dense(hidden, activation="relu", name="hidden")(x)
    x = keras.layers.Dropout(dropout)(x)
    logits = keras.layers.Dense(classes, name="logits")(x)
    return keras.Model(inp, keras.layers.Softmax(name="probs")(logits), name="text_mlp")


def with_grouping(model, group: np.ndarray):
    """The shipped graph of a category model: its softmax over the 28 categories summed into the 7 face labels
    by a fixed (28, 7) 0/1 layer, so the device gets probabilities over its labels."""
    import keras

    layer = keras.layers.Dense(group.shape[1], use_bias=False, trainable=False, name="group")
    out = layer(model.output)
    layer.set_weights([group])
    return keras.Model(model.inputs, out, name=model.name)


def face_probs(logits: np.ndarray, group: np.ndarray | None) -> np.ndarray:
    """Logits -> scores over the face labels whose arg-max is the device's answer (softmax, grouped)."""
    if group is None:
        return logits
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)) @ group


def batches(x, y: np.ndarray, batch_size: int, seed: int, class_weight: np.ndarray | None = None,
            row_weight: np.ndarray | None = None):
    """Shuffled dense batches from the sparse training matrix; targets share each row's labels equally."""
    import keras

    target = y / y.sum(axis=1, keepdims=True)
    # A row's weight: its labels' class weights, shared like the target; times its dataset's weight.
    weight = None if class_weight is None else (target @ class_weight).astype(np.float32)
    if row_weight is not None:
        weight = row_weight.astype(np.float32) if weight is None else (weight * row_weight).astype(np.float32)

    class Texts(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(x.shape[0])

        def __len__(self) -> int:
            return math.ceil(x.shape[0] / batch_size)

        def __getitem__(self, i: int):
            idx = np.sort(self.order[i * batch_size:(i + 1) * batch_size])
            if weight is None:
                return x[idx].toarray(), target[idx]
            return x[idx].toarray(), target[idx], weight[idx]

        def on_epoch_end(self) -> None:
            self.order = self.rng.permutation(x.shape[0])

    return Texts()


class Dev:
    """The dev sets and the one score that selects epochs and offsets: GoEmotions dev macro-F1, or with MELD a weighted
    mean of it, MELD dev UAR and MELD dev weighted F1 (the issue's three figures; by default a third each)."""

    def __init__(self, x_go, y_go: np.ndarray, x_meld=None, y_meld: np.ndarray | None = None,
                 go_share: float = 1 / 3) -> None:
        self.x_go, self.y_go, self.x_meld, self.y_meld = x_go, y_go, x_meld, y_meld
        self.go_share = go_share  # GoEmotions' part of the score; MELD's UAR and weighted F1 share the rest

    def figures(self, probs_go: np.ndarray, probs_meld: np.ndarray | None = None) -> dict:
        f = {"goemotions_dev": multilabel_scores(self.y_go, probs_go)}
        score = f["goemotions_dev"]["macro_f1"]
        if self.y_meld is not None:
            m = f["meld_dev"] = single_label_scores(self.y_meld, probs_meld)
            score = self.go_share * score + (1 - self.go_share) * (m["uar"] + m["weighted_f1"]) / 2
        f["score"] = float(score)
        return f

    def of_model(self, model, group: np.ndarray | None) -> dict:
        def run(x):
            p = model.predict(x, batch_size=512, verbose=0)
            return p if group is None or p.shape[1] == group.shape[1] else p @ group

        return self.figures(run(self.x_go), None if self.x_meld is None else run(self.x_meld))


def tune_offsets(logits: np.ndarray, dev: Dev, group: np.ndarray | None, rounds: int = 3,
                 logits_meld: np.ndarray | None = None) -> np.ndarray:
    """Per-face-label additive logit offsets (a category takes its label's) that raise the dev score, by
    coordinate ascent over OFFSET_GRID."""
    n = len(FACE_LABELS)
    spread = np.eye(n, dtype=np.float32) if group is None else group  # face-label offset -> each logit

    def score(off: np.ndarray) -> float:
        shift = spread @ off
        return dev.figures(face_probs(logits + shift, group),
                           None if logits_meld is None else face_probs(logits_meld + shift, group))["score"]

    off = np.zeros(n, np.float32)
    best = score(off)
    for _ in range(rounds):
        for c in range(len(off)):
            for v in OFFSET_GRID:
                trial = off.copy()
                trial[c] = v
                f = score(trial)
                if f > best + 1e-6:
                    best, off = f, trial
    return off


TEMPERATURE_GRID = np.round(np.arange(0.5, 3.01, 0.1), 2)  # logits divided by T; T > 1 softens


def tune_temperature(logits: np.ndarray, dev: "Dev", group: np.ndarray | None,
                     logits_meld: np.ndarray | None = None) -> tuple[float, dict]:
    """The temperature whose face-label probabilities have the lowest mean log-loss on the dev sets (GoEmotions'
    rows with one label, and MELD's lines): what the fusion weighs is then as sure as the text model is right."""
    def nll(lg: np.ndarray, y: np.ndarray, t: float) -> float:
        p = face_probs(lg / t, group) if group is not None else _softmax(lg / t)
        return float(-np.log(np.clip((p * y).sum(1), 1e-7, None)).mean())

    single = dev.y_go.sum(1) == 1
    losses = {}
    for t in TEMPERATURE_GRID:
        parts = [nll(logits[single], dev.y_go[single], t)]
        if logits_meld is not None:
            parts.append(nll(logits_meld, dev.y_meld, t))
        losses[float(t)] = float(np.mean(parts))
    best = min(losses, key=losses.get)
    return best, {"chosen": best, "log_loss": losses}


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _logits(model, x: np.ndarray) -> np.ndarray:
    """Pre-softmax outputs (the offsets are tuned on these)."""
    import keras

    return keras.Model(model.inputs, model.get_layer("logits").output).predict(x, batch_size=512, verbose=0)


def fold(members: list, size: int, args: argparse.Namespace, classes: int):
    """K trained members -> one model whose logits are the mean of theirs (hidden layers side by side)."""
    if len(members) == 1:
        return members[0]
    model = build_model(size, args.hidden * len(members), args.dropout_in, args.dropout, classes)
    hidden = [m.get_layer("hidden").get_weights() for m in members]
    logits = [m.get_layer("logits").get_weights() for m in members]
    model.get_layer("hidden").set_weights([np.concatenate([w for w, _ in hidden], 1),
                                           np.concatenate([b for _, b in hidden])])
    model.get_layer("logits").set_weights([np.concatenate([w for w, _ in logits], 0) / len(members),
                                           np.mean([b for _, b in logits], axis=0)])
    return model


def train_member(args: argparse.Namespace, folder: Path, seed: int, vec, x_train, y_train: np.ndarray, dev: Dev,
                 class_weight: np.ndarray | None, group: np.ndarray | None, row_weight: np.ndarray | None = None):
    """One model, selected on the dev score, checkpointed each epoch into `folder`; `--resume` continues it."""
    import keras

    folder.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    state = {"epoch": 0, "best": -1.0, "best_epoch": 0, "history": [], "done": False}
    if args.resume and (folder / STATE_FILE).is_file():
        state = json.loads((folder / STATE_FILE).read_text())
        model = keras.saving.load_model(folder / CHECKPOINT_FILE)
        logger.info("%s: resuming after epoch %d (best dev score %.4f)", folder, state["epoch"], state["best"])
    else:
        model = build_model(vec.spec.size, args.hidden, args.dropout_in, args.dropout, y_train.shape[1])
        model.compile(keras.optimizers.AdamW(args.lr, weight_decay=args.weight_decay),
                      keras.losses.CategoricalCrossentropy())
    logger.info("%s (seed %d): %d parameters", model.name, seed, model.count_params())

    class Select(keras.callbacks.Callback):
        """The dev score after each epoch: keep the best model, checkpoint, stop when it stops improving."""

        def on_epoch_end(self, epoch, logs=None):
            f = dev.of_model(model, group)
            h = {"epoch": epoch + 1, "loss": float((logs or {}).get("loss", 0.0)), "dev_score": f["score"],
                 "dev_macro_f1": f["goemotions_dev"]["macro_f1"]}
            if "meld_dev" in f:
                h.update(meld_dev_uar=f["meld_dev"]["uar"], meld_dev_weighted_f1=f["meld_dev"]["weighted_f1"])
            state["history"].append(h)
            if f["score"] > state["best"]:
                state.update(best=f["score"], best_epoch=epoch + 1)
                model.save(folder / BEST_RAW_FILE)
            state["epoch"] = epoch + 1
            if epoch + 1 - state["best_epoch"] >= args.patience or epoch + 1 >= args.epochs:
                state["done"] = True
                self.model.stop_training = True
            model.save(folder / CHECKPOINT_FILE)
            (folder / STATE_FILE).write_text(json.dumps(state))
            logger.info("epoch %d: %s (best score %.4f, epoch %d)", epoch + 1,
                        ", ".join(f"{k} {v:.4f}" for k, v in h.items() if k != "epoch"), state["best"],
                        state["best_epoch"])

    if not state["done"]:
        model.fit(batches(x_train, y_train, args.batch_size, seed + state["epoch"], class_weight, row_weight),
                  epochs=args.epochs,
                  initial_epoch=state["epoch"], callbacks=[Select()], verbose=args.verbose)
    return keras.saving.load_model(folder / BEST_RAW_FILE, compile=False), state


def linear_probe(x_train, y_train: np.ndarray, dev: Dev, c: float, seed: int) -> dict:
    """Class-balanced logistic regression over the face labels on the same features (multi-label rows: their first
    label): dev figures of a cheap model, to compare feature sets."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=c, class_weight="balanced", max_iter=300, random_state=seed)
    clf.fit(x_train, y_train.argmax(1))
    return dev.figures(clf.predict_proba(dev.x_go), None if dev.x_meld is None else clf.predict_proba(dev.x_meld))


def run(args: argparse.Namespace) -> int:
    if args.spoken_without and not args.linear:
        raise SystemExit("--spoken-without is for the feature ablation (--linear): the device's v2 tokeniser has all parts")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = load(args.data)
    train, dev_go, test = data["train"], data["dev"], data["test"]
    lines = meld.load(args.meld) if args.meld else None
    meld_train = lines["train"] if lines and not args.meld_dev_only else None
    texts = train.texts + (meld_train.texts if meld_train else [])
    t0 = time.perf_counter()
    if args.resume:
        vec = load_vectoriser(out)
    else:
        vec = build_vocabulary(texts, out, args.ngram_max, args.min_df, args.vocab_size, args.max_tokens,
                               args.prefix_chars, TOKENISER_SPOKEN if args.spoken else TOKENISER, tuple(args.chars),
                               (TRAINING_DATA, MELD_DATA) if meld_train else (TRAINING_DATA,), args.char_weight,
                               SPOKEN_PARTS - set(args.spoken_without))
    x_train = vectors(vec, texts, sparse=True)
    x_dev, x_test = vectors(vec, dev_go.texts), vectors(vec, test.texts)
    dev = Dev(x_dev, dev_go.y, *((vectors(vec, lines["dev"].texts), lines["dev"].y) if lines else (None, None)),
              go_share=args.goemotions_share)
    logger.info("vocabulary %d n-grams, vectors in %.1f s; %d train (%d MELD) / %d dev / %d test", vec.spec.size,
                time.perf_counter() - t0, len(texts), len(texts) - len(train), len(dev_go), len(test))
    n_meld = len(texts) - len(train)
    if args.linear:
        y_lin = np.vstack([train.y, meld_train.y]) if meld_train else train.y
        f = linear_probe(x_train, y_lin, dev, args.linear_c, args.seed)
        summary = {"linear_probe": f, "vocabulary": vec.spec.to_dict(),
                   "args": {k: v for k, v in vars(args).items() if k != "func"}}
        (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
        logger.info("linear probe: dev score %.4f, GoEmotions dev macro-F1 %.4f%s", f["score"],
                    f["goemotions_dev"]["macro_f1"], "" if "meld_dev" not in f else
                    f", MELD dev UAR {f['meld_dev']['uar']:.4f}, weighted F1 {f['meld_dev']['weighted_f1']:.4f}")
        return 0
    # Outputs: the 7 face labels, or the 28 categories (--fine); MELD lines get 7 outputs of their own after them,
    # so its Friends-style neutral and GoEmotions' Reddit-style neutral need not be one class. All sum into 7.
    group = grouping(args.data) if args.fine else None
    y_go = train.fine if args.fine else train.y
    if meld_train:
        g = np.eye(len(FACE_LABELS), dtype=np.float32) if group is None else group
        group = np.vstack([g, np.eye(len(FACE_LABELS), dtype=np.float32)])
        y_train = np.vstack([np.hstack([y_go, np.zeros((len(train), len(FACE_LABELS)), np.float32)]),
                             np.hstack([np.zeros((n_meld, y_go.shape[1]), np.float32), meld_train.y])])
    else:
        y_train = y_go
    row_weight = None
    if meld_train and args.meld_weight != 1.0:
        row_weight = np.concatenate([np.ones(len(train)), np.full(n_meld, args.meld_weight)])
    class_weight = None
    if args.class_weight:
        share = y_train.sum(axis=0)
        share = share / share.sum()
        class_weight = (1.0 / (len(share) * share)) ** 0.5  # square root: full inverse weights overshoot on disgust
    members, states = [], []
    for k in range(args.ensemble):
        folder = out if args.ensemble == 1 else out / f"member{k}"
        m, st = train_member(args, folder, args.seed + k, vec, x_train, y_train, dev, class_weight, group, row_weight)
        members.append(m)
        states.append(st)
    best = fold(members, vec.spec.size, args, y_train.shape[1])
    dev_logits = _logits(best, x_dev)
    meld_logits = _logits(best, dev.x_meld) if lines else None
    dev_raw = dev.figures(face_probs(dev_logits, group), None if lines is None else face_probs(meld_logits, group))
    offsets = np.zeros(len(FACE_LABELS), np.float32)
    shift = np.zeros(dev_logits.shape[1], np.float32)
    if not args.no_offsets:
        offsets = tune_offsets(dev_logits, dev, group, logits_meld=meld_logits)
        shift = offsets if group is None else group @ offsets
    dev_offsets = dev.figures(face_probs(dev_logits + shift, group),
                              None if lines is None else face_probs(meld_logits + shift, group))
    temperature, temp_info = 1.0, None
    if args.temperature:
        temperature, temp_info = tune_temperature(dev_logits + shift, dev, group,
                                                  None if lines is None else meld_logits + shift)
        logger.info("temperature %.1f (dev log-loss %.4f at 1.0, %.4f at %.1f)", temperature,
                    temp_info["log_loss"][1.0], temp_info["log_loss"][temperature], temperature)
    layer = best.get_layer("logits")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel / temperature, (bias + shift) / temperature])
    if group is not None:
        best = with_grouping(best, group)
    best.save(out / MODEL_FILE)
    dev_m = dev.of_model(best, None)
    test_m = multilabel_scores(test.y, best.predict(x_test, batch_size=512, verbose=0))
    summary = {"params": int(best.count_params()), "vocabulary": vec.spec.to_dict(),
               "members": [{"best_epoch": st["best_epoch"], "epochs_run": st["epoch"], "dev_score": st["best"],
                            "history": st["history"]} for st in states],
               "offsets": {l: float(o) for l, o in zip(FACE_LABELS, offsets)},
               "dev_before_offsets": dev_raw, "dev_offsets_before_temperature": dev_offsets,
               "temperature": temp_info, "dev_figures": dev_m, "dev": dev_m["goemotions_dev"],
               "test_keras_float": test_m, "args": {k: v for k, v in vars(args).items() if k != "func"}}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    meld_line = "" if "meld_dev" not in dev_m else (f"; MELD dev UAR {dev_m['meld_dev']['uar']:.4f}, weighted F1 "
                                                     f"{dev_m['meld_dev']['weighted_f1']:.4f}")
    logger.info("%s: dev score %.4f (%.4f before offsets); GoEmotions dev macro-F1 %.4f%s; test macro-F1 %.4f, "
                "single-label accuracy %.4f", out / MODEL_FILE, dev_m["score"], dev_raw["score"],
                dev_m["goemotions_dev"]["macro_f1"], meld_line, test_m["macro_f1"], test_m["accuracy_single"])
    return 0
