"""`edge-convert train-face`: train the face-expression model on FER2013 (Keras 3, any backend)."""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from pathlib import Path

import numpy as np

from edge.labels import FACE_LABELS
from edge.classify.face_preprocess import FACE_PREPROCESS, pixels_to_input

from ..report import metrics, plot_confusion
from . import distill, ferplus, task
from .augment import augment, camera
from .models import ARCHS, macs
from .fer2013 import Split, load

logger = logging.getLogger(__name__)

MODEL_FILE = "face.keras"          # best on PublicTest, what `quantize` takes
CHECKPOINT_FILE = "checkpoint.keras"  # last epoch with optimizer state, what --resume continues
STATE_FILE = "state.json"
HISTORY_FILE = "history.json"
DEFAULT_LR = {"sgd": 0.05, "adamw": 2e-3}  # peak rates for batch 128
DEFAULT_WD = {"sgd": 5e-4, "adamw": 0.05}
WARMUP_EPOCHS = 3  # linear warm-up before the cosine decay: BatchNorm statistics settle before the full rate


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="fer2013.csv(.gz), an image folder (train/ test/ [val/]) or a .npz from fer2013.save_npz")
    p.add_argument("--out", required=True, help="output folder (model, checkpoint, history, confusion matrix)")
    p.add_argument("--arch", choices=sorted(ARCHS), default="vgg", help="architecture (baseline: the seed CNN)")
    p.add_argument("--epochs", type=int, default=120, help="epochs of the cosine schedule")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--optimizer", choices=("sgd", "adamw"), default="sgd", help="SGD with Nesterov momentum, or AdamW")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default: sgd 0.05, adamw 0.002)")
    p.add_argument("--weight-decay", type=float, default=None, help="decoupled weight decay (default: sgd 5e-4, adamw 0.05)")
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--erasing", type=float, default=0.5, help="probability of random erasing per image (0: off)")
    p.add_argument("--class-weight", action="store_true", help="weight classes by inverse frequency (disgust is rare)")
    p.add_argument("--align", action="store_true",
                   help="warp every face onto FACE_PREPROCESS's eye/nose/mouth template (BlazeFace keypoints, cached in OUT)")
    p.add_argument("--camera", type=float, default=0.0,
                   help="probability per face of camera-like degradations: low resolution, blur, gamma, noise, JPEG (0: off)")
    p.add_argument("--teacher", default=None, help="face model (.tflite/.onnx with sidecar) whose probabilities on each "
                                                   "augmented face join the target, e.g. edge/models/face_large_int8.tflite")
    p.add_argument("--teacher-weight", type=float, default=0.7, help="share of the --teacher probabilities in the target")
    p.add_argument("--soft-labels", default=None, help=".npy of (Training faces, 7) probabilities from a slow teacher run once")
    p.add_argument("--soft-weight", type=float, default=0.2, help="share of the --soft-labels in the target")
    p.add_argument("--ferplus", default=None, metavar="CSV",
                   help="FER+ votes (ferplus.csv, one row per FER2013 row): train on them instead of FER2013's single "
                        "labels and judge PublicTest by their majority (contempt votes left out: no face label)")
    p.add_argument("--ferplus-target", choices=("soft", "majority"), default="soft",
                   help="with --ferplus: the vote shares as the target, or the majority vote one-hot")
    p.add_argument("--ckplus", default=None, metavar="DIR",
                   help="also learn from CK+48's train-half subjects (ckplus48/, even subject numbers; contempt left "
                        "out): posed lab faces of the classes FER2013 has few of. benchmarks/face_ckplus.py reports on "
                        "the other half")
    p.add_argument("--ckplus-repeat", type=int, default=4, help="with --ckplus: copies of each crop per epoch")
    p.add_argument("--precision", choices=("auto", "float32", "bf16"), default="auto",
                   help="training arithmetic: bf16 (Keras mixed_bfloat16, float32 weights) is 1.1-1.4x faster on a "
                        "CPU with AVX512-BF16 or AMX; auto picks it there. The saved model is float32 either way")
    p.add_argument("--patience", type=int, default=30, help="stop after this many epochs without a better PublicTest accuracy (0: never)")
    p.add_argument("--time-budget", type=float, default=0.0,
                   help="minutes; after epoch 2 the schedule shrinks to the epochs that fit (0: no limit)")
    p.add_argument("--limit", type=int, default=0, help="use only this many Training and PublicTest faces (smoke runs)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--init", default=None, metavar="MODEL.keras",
                   help="start from this trained model's weights (same --arch) with a fresh schedule: fine-tuning, "
                        "e.g. with --soft-labels from teach-face and a lower --lr")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.keras")
    p.add_argument("--reschedule", action="store_true",
                   help="with --resume: the learning-rate schedule ends at --epochs instead of where it was planned "
                        "(a run that would not finish in the time left anneals early instead of being cut)")
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="Keras progress: 1 bar, 2 one line per epoch")


def _subset(split: Split, n: int, rng: np.random.Generator) -> Split:
    return split if not n or n >= len(split) else split.take(np.sort(rng.choice(len(split), n, replace=False)))


def batches(split: Split, batch_size: int, erasing: float, seed: int, class_weight: np.ndarray | None,
            camera_p: float = 0.0, teacher=None, teacher_weight: float = 0.0, soft: np.ndarray | None = None,
            soft_weight: float = 0.0, base: np.ndarray | None = None):
    """Shuffled, augmented training batches as a Keras PyDataset (augmentation on the CPU, any backend).

    `base`: (N, 7) per-face target that replaces the one-hot label (the FER+ vote shares), before the teachers mix in.

    Order per batch: geometric augmentation and erasing, then the online teacher labels those faces, then the
    camera degradations (the teacher's answer for the clean face is the target for the degraded one).
    """
    import keras

    n_cls = len(FACE_LABELS)

    class Faces(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(split))

        def __len__(self) -> int:
            return math.ceil(len(split) / batch_size)

        def __getitem__(self, i: int):
            idx = self.order[i * batch_size:(i + 1) * batch_size]
            faces = augment(split.x[idx], self.rng, erasing=erasing)
            online = teacher(faces) if teacher is not None else None
            if camera_p > 0:
                faces = camera(faces, self.rng, camera_p)
            x = pixels_to_input(faces)
            hard = np.eye(n_cls, dtype=np.float32)[split.y[idx]] if base is None else base[idx]
            y = distill.targets(hard, online,
                                None if soft is None else soft[idx], teacher_weight, soft_weight)
            if class_weight is None:
                return x, y
            return x, y, class_weight[split.y[idx]].astype(np.float32)

        def on_epoch_end(self) -> None:
            self.order = self.rng.permutation(len(split))

    return Faces()


class Schedule:
    """Linear warm-up then cosine decay, per step; `total_epochs` may shrink once the epoch time is known."""

    def __init__(self, peak: float, steps_per_epoch: int, total_epochs: int) -> None:
        self.peak, self.steps, self.total_epochs = peak, steps_per_epoch, total_epochs

    def __call__(self, epoch: int, batch: int) -> float:
        t = epoch + batch / self.steps
        if t < WARMUP_EPOCHS:
            return self.peak * (t + 1 / self.steps) / WARMUP_EPOCHS
        span = max(1e-9, self.total_epochs - WARMUP_EPOCHS)
        return 0.5 * self.peak * (1 + math.cos(math.pi * min(1.0, (t - WARMUP_EPOCHS) / span)))


def _callbacks(args, model, schedule: Schedule, out: Path, state: dict):
    import keras

    class Train(keras.callbacks.Callback):
        """Sets the learning rate per step, keeps the best model, checkpoints each epoch, stops early or on time."""

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch, self.t0, self.cpu0 = epoch, time.perf_counter(), time.process_time()

        def on_train_batch_begin(self, batch, logs=None):
            model.optimizer.learning_rate.assign(schedule(self.epoch, batch))

        def on_epoch_end(self, epoch, logs=None):
            logs = dict(logs or {})
            seconds = time.perf_counter() - self.t0
            # CPU seconds of this process (all its threads): on a shared machine the wall time says little about
            # what the recipe costs on dedicated cores.
            cpu = time.process_time() - self.cpu0
            row = {k: float(v) for k, v in logs.items()} | {"epoch": epoch + 1, "seconds": round(seconds, 2),
                                                             "cpu_seconds": round(cpu, 1),
                                                             "lr": float(schedule(epoch, schedule.steps - 1))}
            state["history"].append(row)
            acc = row.get("val_accuracy", 0.0)
            if acc > state["best"]:
                state.update(best=acc, best_epoch=epoch + 1)
                model.save(out / MODEL_FILE)
            state["epoch"] = epoch + 1
            model.save(out / CHECKPOINT_FILE)
            (out / STATE_FILE).write_text(json.dumps(state))
            (out / HISTORY_FILE).write_text(json.dumps(state["history"], indent=1))
            logger.info("epoch %d/%d  %.1fs (%.0f CPU s)  loss %.4f  val_accuracy %.4f  best %.4f (epoch %d)", epoch + 1,
                        schedule.total_epochs, seconds, cpu, row.get("loss", 0), acc, state["best"], state["best_epoch"])
            elapsed = time.perf_counter() - state["t_start"]
            if args.time_budget and epoch + 1 == 2 and not state.get("shrunk"):
                fit = max(WARMUP_EPOCHS + 1, int((args.time_budget * 60 - elapsed) / seconds) + 2)
                if fit < schedule.total_epochs:
                    logger.info("time budget %.1f min: schedule shortened from %d to %d epochs",
                                args.time_budget, schedule.total_epochs, fit)
                    schedule.total_epochs = state["epochs"] = fit
                    state["shrunk"] = True
            if args.time_budget and elapsed + seconds > args.time_budget * 60:
                logger.info("time budget %.1f min spent: stopping after epoch %d", args.time_budget, epoch + 1)
                self.model.stop_training = True
            if epoch + 1 >= schedule.total_epochs:
                self.model.stop_training = True
            if args.patience and epoch + 1 - state["best_epoch"] >= args.patience:
                logger.info("no better PublicTest accuracy for %d epochs: stopping", args.patience)
                self.model.stop_training = True

    return [Train()]


def bf16_available() -> bool:
    """The CPU has bf16 arithmetic (AVX512-BF16 or AMX-BF16), read from /proc/cpuinfo (Linux)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _precision(choice: str) -> str:
    import keras

    use = choice == "bf16" or (choice == "auto" and bf16_available())
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if use else "float32")
    return "bf16" if use else "float32"


def _with_ferplus(data: dict[str, Split], path: str, target: str, soft: np.ndarray | None):
    """Training restricted to rows with a target, labelled by the votes; PublicTest to rows with a majority."""
    votes = ferplus.load_votes(path)
    for name in ("Training", "PublicTest"):
        ferplus.check_rows(votes[name], len(data[name]), name, path)
    shares, major = ferplus.shares(votes["Training"]), ferplus.majority(votes["Training"])
    keep = np.flatnonzero(shares.sum(1) > 0) if target == "soft" else np.flatnonzero(major >= 0)
    labels = np.where(major >= 0, major, shares.argmax(1))  # for class weights and the accuracy metric
    base = shares if target == "soft" else np.eye(len(FACE_LABELS), dtype=np.float32)[np.maximum(major, 0)]
    train = Split(data["Training"].x[keep], labels[keep])
    val_major = ferplus.majority(votes["PublicTest"])
    val_keep = np.flatnonzero(val_major >= 0)
    logger.info("FER+ votes: %d of %d Training faces carry a %s target, %d of %d PublicTest faces a majority",
                len(keep), len(data["Training"]), target, len(val_keep), len(data["PublicTest"]))
    data = {"Training": train, "PublicTest": Split(data["PublicTest"].x[val_keep], val_major[val_keep])}
    return data, base[keep], (None if soft is None else soft[keep])


def _with_ckplus(train: Split, base: np.ndarray | None, soft: np.ndarray | None, folder: str, repeat: int,
                 spec: dict, out: Path):
    """Training plus CK+48's train-half crops, `repeat` copies each, with one-hot targets (also where the FER2013
    rows carry vote shares or teacher probabilities: a posed CK+ face's label is clean)."""
    from edge.bench.datasets import read_ckplus

    faces, labels, subjects = read_ckplus(folder, "train")
    keep = np.array([i for i, label in enumerate(labels) if label is not None])
    x = task.prepared(faces[keep], spec, out / "keypoints_ckplus_train.npy")
    y = np.array([FACE_LABELS.index(labels[i]) for i in keep])
    x, y = np.tile(x, (repeat, 1, 1)), np.tile(y, repeat)
    onehot = np.eye(len(FACE_LABELS), dtype=np.float32)[y]
    logger.info("CK+48: %d crops of %d train-half subjects, %d copies each: %d more training faces", len(keep),
                len(set(subjects[keep])), repeat, len(y))
    return (Split(np.concatenate([train.x, x]), np.concatenate([train.y, y])),
            None if base is None else np.concatenate([base, onehot]),
            None if soft is None else np.concatenate([soft, onehot]))


def run(args: argparse.Namespace) -> int:
    import keras

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    precision = _precision(args.precision)
    rng = np.random.default_rng(args.seed)
    data = load(args.data, splits=("Training", "PublicTest"))
    soft = distill.soft_labels(args.soft_labels, len(data["Training"])) if args.soft_labels else None
    spec = FACE_PREPROCESS if args.align else task.unaligned()
    for name in ("Training", "PublicTest"):
        data[name] = Split(task.prepared(data[name].x, spec, out / f"keypoints_{name}.npy"), data[name].y)
    base = None
    if args.ferplus:
        data, base, soft = _with_ferplus(data, args.ferplus, args.ferplus_target, soft)
    if args.limit:
        pick = np.sort(rng.choice(len(data["Training"]), min(args.limit, len(data["Training"])), replace=False))
        train, soft = data["Training"].take(pick), (None if soft is None else soft[pick])
        base = None if base is None else base[pick]
    else:
        train = data["Training"]
    if args.ckplus:
        train, base, soft = _with_ckplus(train, base, soft, args.ckplus, args.ckplus_repeat, spec, out)
    val = _subset(data["PublicTest"], args.limit, rng)
    if not len(train) or not len(val):
        raise SystemExit(f"{args.data}: needs Training and PublicTest faces (got {len(train)} and {len(val)})")
    teacher = distill.OnlineTeacher(args.teacher) if args.teacher else None
    task.write_preprocess(out / MODEL_FILE, spec)  # calibrate-face and quantize prepare faces the same way
    x_val = pixels_to_input(val.x)
    n_cls = len(FACE_LABELS)
    y_val = np.eye(n_cls, dtype=np.float32)[val.y]
    steps = math.ceil(len(train) / args.batch_size)
    state = {"epoch": 0, "best": -1.0, "best_epoch": 0, "history": [], "epochs": args.epochs, "t_start": time.perf_counter()}

    if args.resume:
        if not (out / CHECKPOINT_FILE).is_file():
            raise SystemExit(f"--resume: {out / CHECKPOINT_FILE} not found; train once without --resume first")
        model = keras.saving.load_model(out / CHECKPOINT_FILE)
        saved = json.loads((out / STATE_FILE).read_text())
        state.update({k: saved[k] for k in ("epoch", "best", "best_epoch", "history", "peak_lr")})
        # The same command plus --resume continues the same schedule, unless --time-budget had shortened it.
        state["epochs"], state["shrunk"] = (saved["epochs"], True) if saved.get("shrunk") else (args.epochs, False)
        if args.reschedule:  # a run that will not finish in time: the cosine ends at --epochs instead
            state["epochs"], state["shrunk"] = args.epochs, True
            logger.info("schedule now ends at epoch %d", args.epochs)
        logger.info("resuming after epoch %d (best PublicTest accuracy %.4f)", state["epoch"], state["best"])
    else:
        model = ARCHS[args.arch]()
        if args.init:  # built under this run's precision policy, then the trained weights put in
            if not Path(args.init).is_file():
                raise SystemExit(f"--init {args.init}: no such file; give a .keras model that train-face wrote")
            start = keras.saving.load_model(args.init, compile=False)
            try:
                model.set_weights(start.get_weights())
            except ValueError as e:
                raise SystemExit(f"--init {args.init}: its weights do not fit --arch {args.arch} ({e})") from None
            logger.info("starting from the weights of %s", args.init)
        state["peak_lr"] = lr = args.lr or DEFAULT_LR[args.optimizer]  # the schedule sets the rate per step
        wd = args.weight_decay if args.weight_decay is not None else DEFAULT_WD[args.optimizer]
        opt = (keras.optimizers.SGD(lr, momentum=0.9, nesterov=True, weight_decay=wd) if args.optimizer == "sgd"
               else keras.optimizers.AdamW(lr, weight_decay=wd))
        model.compile(opt, keras.losses.CategoricalCrossentropy(label_smoothing=args.label_smoothing), metrics=["accuracy"])
    schedule = Schedule(state["peak_lr"], steps, state["epochs"])
    logger.info("%s: %d parameters, %.1f M MACs per face; %d training / %d PublicTest faces; %s backend, %s",
                model.name, model.count_params(), macs(model) / 1e6, len(train), len(val), keras.backend.backend(),
                precision)
    class_weight = None
    if args.class_weight:
        counts = np.bincount(train.y, minlength=n_cls)
        class_weight = len(train) / (n_cls * np.maximum(1, counts))
    if state["epoch"] < state["epochs"]:
        model.fit(batches(train, args.batch_size, args.erasing, args.seed + state["epoch"], class_weight, args.camera,
                          teacher, args.teacher_weight, soft, args.soft_weight, base),
                  epochs=max(state["epochs"], args.epochs), initial_epoch=state["epoch"], validation_data=(x_val, y_val),
                  validation_batch_size=256, callbacks=_callbacks(args, model, schedule, out, state), verbose=args.verbose)
    best = keras.saving.load_model(out / MODEL_FILE, compile=False)
    if precision == "bf16":  # the same weights in a float32 graph: what quantize and the converters expect
        keras.mixed_precision.set_global_policy("float32")
        plain = ARCHS[args.arch]()
        plain.set_weights(best.get_weights())
        plain.save(out / MODEL_FILE)
        best = plain
    pred = best.predict(x_val, batch_size=256, verbose=0).argmax(1)
    m = metrics(val.y, pred, FACE_LABELS)
    plot_confusion(np.array(m["confusion"]), FACE_LABELS, out / "confusion_publictest.png",
                   f"PublicTest, accuracy {100 * m['accuracy']:.2f}%")
    summary = {"arch": args.arch, "params": int(best.count_params()), "macs": macs(best), "backend": keras.backend.backend(),
               "precision": precision, "publictest_labels": "FER+ majority" if args.ferplus else "FER2013",
               "best_epoch": state["best_epoch"], "epochs_run": state["epoch"], "publictest": m,
               "args": {k: v for k, v in vars(args).items() if k != "func"}}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    logger.info("best model %s: PublicTest accuracy %.4f, macro-F1 %.4f (epoch %d)", out / MODEL_FILE,
                m["accuracy"], m["macro_f1"], state["best_epoch"])
    return 0
