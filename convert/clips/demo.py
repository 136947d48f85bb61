"""Build the bundled demo clip (edge/sample/demo.mp4 + demo.wav) from the shared datasets.

Video: labelled face photographs (face-photos, Apache-2.0) shown one after another on a
640x480 canvas with a slow pan, so detection and tracking see motion. Audio: Emo-DB
utterances (research use) separated by silence, so the voice path sees both speech and
silence. Each segment pairs a photo and an utterance of the same emotion where both exist.
The manifest (demo.json) records every source file and its time span.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
from pathlib import Path

import cv2
import numpy as np

from edge.audio.resample import resample
from edge.audio.wav import read_wav, to_mono, write_wav
from edge.paths import SAMPLE_AUDIO, SAMPLE_DIR, SAMPLE_VIDEO

logger = logging.getLogger(__name__)

FPS = 10  # enough for a demo of expressions; keeps the clip small
SIZE = (640, 480)
SEGMENT_S = 3.0
SAMPLE_RATE = 16000
# (face-photos label, Emo-DB file or None) per segment: a fixed, varied order.
SEGMENTS = [
    ("happiness", "03a01Fa.wav"),
    ("neutral", None),
    ("anger", "03a01Wa.wav"),
    ("surprise", None),
    ("sadness", "08a02Tb.wav"),
    ("neutral", "09a01Nb.wav"),
    ("fear", "11a01Aa.wav"),
    ("disgust", "13a01Ea.wav"),
]


def photos_by_label(photos_dir: Path) -> dict[str, list[str]]:
    """face-photos file names per label, sorted (labels.csv)."""
    by_label: dict[str, list[str]] = {}
    with open(photos_dir / "labels.csv", newline="") as f:
        for row in csv.DictReader(f):
            by_label.setdefault(row["emotion"], []).append(row["image"])
    return {k: sorted(v) for k, v in by_label.items()}


def build(datasets: Path, out_dir: Path = SAMPLE_DIR) -> dict:
    photos_dir, emodb = datasets / "face-photos", datasets / "emodb" / "wav"
    by_label = photos_by_label(photos_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    video_path, audio_path = out_dir / SAMPLE_VIDEO.name, out_dir / SAMPLE_AUDIO.name
    writer = cv2.VideoWriter(str(video_path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot write mp4v video here; install opencv-python-headless from PyPI")
    seg_frames = int(SEGMENT_S * FPS)
    audio = np.zeros(int(SEGMENT_S * SAMPLE_RATE * len(SEGMENTS)), np.float32)
    manifest = {"fps": FPS, "size": list(SIZE), "sample_rate": SAMPLE_RATE, "segments": []}
    used: dict[str, int] = {}
    for k, (label, wav_name) in enumerate(SEGMENTS):
        image_name = by_label[label][used.get(label, 0) * 7 % len(by_label[label])]
        used[label] = used.get(label, 0) + 1
        photo = cv2.imread(str(photos_dir / "images" / image_name))
        if photo is None:
            raise RuntimeError(f"cannot read {photos_dir / 'images' / image_name}")
        scale = 0.6 * SIZE[1] / photo.shape[0]
        photo = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        ph, pw = photo.shape[:2]
        for i in range(seg_frames):
            canvas = np.full((SIZE[1], SIZE[0], 3), 40, np.uint8)
            # Slow horizontal pan across the segment: the face moves ~120 px.
            x = int((SIZE[0] - pw) / 2 + 60 * np.sin(np.pi * (i / seg_frames - 0.5)))
            y = (SIZE[1] - ph) // 2
            canvas[y:y + ph, x:x + pw] = photo
            writer.write(canvas)
        seg = {"start_s": k * SEGMENT_S, "end_s": (k + 1) * SEGMENT_S, "photo": image_name, "photo_label": label}
        if wav_name:
            samples, rate = read_wav(emodb / wav_name)
            speech = resample(to_mono(samples), rate, SAMPLE_RATE)
            speech = speech[: int((SEGMENT_S - 0.4) * SAMPLE_RATE)]  # leave >= 0.4 s of silence per segment
            start = int((k * SEGMENT_S + 0.2) * SAMPLE_RATE)
            audio[start:start + len(speech)] = speech
            seg.update(speech=wav_name, speech_s=[round(start / SAMPLE_RATE, 3), round((start + len(speech)) / SAMPLE_RATE, 3)])
        manifest["segments"].append(seg)
    writer.release()
    write_wav(audio_path, audio, SAMPLE_RATE)
    manifest["provenance"] = ("Video: photos from face-photos (Labeled Faces in the Wild derived, Apache-2.0). "
                              "Audio: Emo-DB, Burkhardt et al. 2005, free for research use.")
    (out_dir / "demo.json").write_text(json.dumps(manifest, indent=2) + "\n")
    logger.info("wrote %s (%.0f kB) and %s (%.0f kB)", video_path, video_path.stat().st_size / 1e3,
                audio_path, audio_path.stat().st_size / 1e3)
    return manifest


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--datasets", type=Path, default=Path("../shared/datasets"), help="folder with face-photos/ and emodb/")
    p.add_argument("--out", type=Path, default=SAMPLE_DIR, help="output folder (default: the package's sample/)")


def run(args: argparse.Namespace) -> int:
    build(args.datasets, args.out)
    return 0
