"""The benchmark suites in one table: what `run_reports.sh` runs and what `reports/BENCH_REPORTS.md` lists.

Each suite names the commands that make its reports, written as a user types them, the report files they
write, what they measure and the headline figures read from those reports. `run_reports.sh` runs the
commands (through `script`), and the Markdown index is made from the same rows (through `index`), so the
two cannot disagree; tests/test_bench_suites.py checks that the committed index is the table's.

    python benchmarks/suites.py list                 # every suite, whether the default run includes it
    python benchmarks/suites.py script [SUITE ...]   # the bash run_reports.sh runs (default suites: none named)
    python benchmarks/suites.py index --write        # remake benchmarks/reports/BENCH_REPORTS.md
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "benchmarks" / "reports"
INDEX = REPORTS / "BENCH_REPORTS.md"


@dataclass(frozen=True)
class Suite:
    """One row: `run_reports.sh NAME` runs `commands` in order; they write `files` (under benchmarks/reports/)."""

    name: str
    measures: str  # what it measures, one phrase
    files: tuple[str, ...]  # report files and folders (a trailing /) it writes; * stands for several
    commands: tuple[str, ...]  # shell lines as a user types them; empty: made by hand (see `shown`)
    headline: str  # the figures, copied from the reports, with the date and machine they were made on
    section: str = "main"
    default: bool = False  # run by `run_reports.sh` with no suite named
    shown: str = ""  # the index's command cell, when the commands alone would not read well or there are none


SUITES = (
    Suite(name="face-family",
          measures="the three face models side by side: MACs, size, accuracy, photos, ms and instructions",
          files=("face_family.md", "face_family/"),
          commands=(("edge-bench models --model edge/models/face_int8.tflite --model edge/models/face_int8.onnx "
                     "--model edge/models/face_v2_int8.tflite --model edge/models/face_v2_int8.onnx --model "
                     "edge/models/face_large_int8.tflite --model edge/models/face_large_int8.onnx --threads 1 "
                     "--min-time 3 --out benchmarks/reports/face_family"),
                    "python benchmarks/face_family.py --out benchmarks/reports"),
          headline=("2026-12-07 (AMD EPYC, AVX-512 + VNNI + BF16, no AMX, loaded): `face` (v3) 56.9 M MACs, FER+ "
                    "PrivateTest 82.80 %, FER2013 58.77 %, photos balanced 0.511 / natural-mix 0.863, 0.328 ms; "
                    "`face_v2` 25.4 M, 70.53 / 63.17 %, 0.454 / 0.746, 0.157 ms; `face_large` 436.0 M, 70.29 / "
                    "67.87 %, 0.423 / 0.722, 2.240 ms")),
    Suite(name="face-validation",
          measures=("every face artifact through edge/ on FER2013 PrivateTest, by FER2013's labels and by the "
                    "FER+ votes"),
          files=("face_validation.md", "face_validation.json", "face_validation_ferplus.md",
                 "face_validation_ferplus.json", "face_v2_validation*", "face_large_validation*"),
          commands=(),
          headline=("2026-12-07, original pixels: `face` int8 TFLite **82.80 %** by the FER+ majority (float "
                    "82.95 %, ONNX 82.71 %), 58.77 % by FER2013's labels; `face_v2` 70.53 / 63.17 %; `face_large` "
                    "70.29 / 67.87 %"),
          shown="`edge-convert validate-face [--ferplus ...] ...` (commands in the reports)"),
    Suite(name="face-photos",
          measures="the face models end to end on real photographs (face-photos, CK+48)",
          files=("face_photos.md", "face_photos.json", "face_ckplus.md", "face_ckplus.json"),
          commands=(("python benchmarks/face_photos.py --models face face_v2 face_large --priors natural training "
                     "--zoo "
                     "../shared/models/opencv-zoo-fer/facial_expression_recognition_mobilefacenet_2022july_int8.onnx "
                     "--out benchmarks/reports"),
                    "python benchmarks/face_ckplus.py --models face face_v2 face_large --out benchmarks/reports"),
          headline=("2026-12-07, 310 photos end to end: `face` (v3) balanced 0.511, natural-mix 0.863, neutral as "
                    "angry 0 %; `face_v2` 0.454 / 0.746 / 6 %; `face_large` 0.423 / 0.722 / 6 %; OpenCV Zoo 0.483 "
                    "/ 0.742 / 2 %. CK+48 balanced: 0.551 / 0.587 / 0.640")),
    Suite(name="avx2-instructions",
          measures="instructions per inference under callgrind (AVX2 kernels), against fer's model",
          files=("avx2_instructions.md", "avx2_instructions.json"),
          commands=("test -x .bench-venv/bin/python || bash benchmarks/setup_fer_env.sh",
                    (".bench-venv/bin/python benchmarks/compare_fer.py --instructions --face-model face face_v2 "
                     "face_large edge/models/blazeface_short_range.tflite --out benchmarks/reports")),
          headline=("2026-12-07, callgrind (AVX2 kernels): `face` (v3) 13.92 M instructions per inference = 2.40x "
                    "fer's int8 model (5.80 M); `face_v2` 1.52x; `face_large` 18.43x; BlazeFace short range 14.96 "
                    "M per frame")),
    Suite(name="avx2-detect",
          measures="the same for the face detectors",
          files=("avx2_detect/",),
          commands=("test -x .bench-venv/bin/python || bash benchmarks/setup_fer_env.sh",
                    (".bench-venv/bin/python benchmarks/compare_fer.py --instructions --face-model "
                     "edge/models/blazeface_short_range.tflite edge/models/blazeface_full_range.tflite face --out "
                     "benchmarks/reports/avx2_detect")),
          headline=("2026-11-29, callgrind (AVX2 kernels): BlazeFace short range (default) 15.64 M instructions "
                    "per frame, full range 44.61 M, `face` 7.97 M, fer's model 6.12 M (run to run the counts move "
                    "about 5 %: `face` was 7.93 M and fer 5.67 M in the row above)")),
    Suite(name="train-precision",
          measures="one training step of the face net in float32 and bf16",
          files=("train_precision.md", "train_precision.json"),
          commands=("python benchmarks/train_precision.py --arch compact-wide --steps 12 --out benchmarks/reports",),
          headline=("2026-12-07, AMD EPYC with AVX512-BF16, loaded: one training step of the 57 M-MAC face net, "
                    "batch 128: float32 1,541 ms, bf16 1,013 ms: **1.52x**")),
    Suite(name="models",
          measures="every shipped model file on every backend that reads it, 1 and 2 threads",
          files=("models/",),
          commands=("edge-bench models --threads 1,2 --min-time 3 --out benchmarks/reports/models",),
          headline=("2026-11-29: every shipped file x backend x {1, 2} threads (`face` int8 TFLite 0.1701 ms p50 "
                    "at 1 thread, AMX); `tflite-runtime` is not installed here and shows as `missing` rows"),
          default=True),
    Suite(name="int8",
          measures="int8 against float32 face model at 1 thread, LiteRT and onnxruntime",
          files=("face-int8-vs-float/",),
          commands=(("edge-bench models --model edge/models/face_int8.tflite --model "
                     "edge/models/face_float32.tflite --model edge/models/face_int8.onnx --model "
                     "runs/face_v3_ship/q/face_float32.onnx --backend litert --backend onnxruntime --min-time 5 "
                     "--out benchmarks/reports/face-int8-vs-float"),),
          headline=("2026-11-29, `face` int8 vs float32 at 1 thread, p50, AMX: LiteRT **3.13x** (0.1751 vs 0.5484 "
                    "ms; target >= 1.5x: met), onnxruntime 2.02x (0.2079 vs 0.4206 ms). Version 1 (now "
                    "`face_large`) had 8.79x: a 436 M-MAC model gains more from AMX than a 25 M-MAC one"),
          default=True),
    Suite(name="repeat",
          measures="repeatability: the int8 face model twice back to back (target: medians within 10 %)",
          files=("repeat/run1/", "repeat/run2/", "repeat/compare.txt"),
          commands=(("edge-bench models --model edge/models/face_int8.tflite --backend litert --min-time 5 --out "
                     "benchmarks/reports/repeat/run1"),
                    ("edge-bench models --model edge/models/face_int8.tflite --backend litert --min-time 5 --out "
                     "benchmarks/reports/repeat/run2"),
                    ("record benchmarks/reports/repeat/compare.txt edge-bench compare "
                     "benchmarks/reports/repeat/run1/models.json benchmarks/reports/repeat/run2/models.json")),
          headline=("2026-11-29, `face`: back-to-back medians 0.1793 and 0.1748 ms: **2.5 %** apart (target <= 10 "
                    "%: met); p99 4.387 -> 0.3531 ms: tails follow the other jobs on this machine"),
          default=True,
          shown=("`edge-bench models --model edge/models/face_int8.tflite --backend litert --min-time 5 --out "
                 "benchmarks/reports/repeat/runN` twice, then `edge-bench compare`")),
    Suite(name="gate",
          measures=("the flashing gate on the full sets: face int8 on FER2013 PrivateTest, voice int8 on Emo-DB "
                    "(refused here: every speaker trained it)"),
          files=("gate-face/", "gate-voice/"),
          commands=(("edge-bench models --model edge/models/face_int8.tflite --backend litert --min-time 1 "
                     "--accuracy ../shared/datasets/fer2013/fer2013.csv.gz --min-accuracy 0.58 --out "
                     "benchmarks/reports/gate-face"),
                    ("edge-bench models --model edge/models/voice_int8.tflite --backend litert --min-time 1 "
                     "--accuracy ../shared/datasets/emodb/wav --min-accuracy 0.70 || echo \"voice gate refused, "
                     "as it should be here (no held-out speakers)\"")),
          headline=("2026-11-29: `face` int8 on FER2013 PrivateTest **0.6303** (n 3589; the model card's 63.03 % "
                    "reproduced by the gate's own reader); voice v2 (three MLPs) int8 on Emo-DB 1.0000 (n 428, "
                    "2026-11-29; the model saw these files in training, so this checks the flash, not "
                    "generalisation: see `edge/models/VOICE_MODEL_CARD.md` for the speaker-independent figure)"),
          default=True),
    Suite(name="pipeline",
          measures="the live loop on the whole demo clip at its own frame rate, and as fast as the loop goes",
          files=("pipeline/", "pipeline-max-speed/"),
          commands=("edge-bench pipeline --out benchmarks/reports/pipeline",
                    "edge-bench pipeline --max-speed --out benchmarks/reports/pipeline-max-speed"),
          headline=("2026-12-07, `face` (v3) and `voice` (v3), AMD EPYC (AVX-512 VNNI, no AMX), machine otherwise "
                    "idle: demo clip at its own 10 fps, 24 s: 240 results, 9.99 fps, 0 dropped, CPU 9.3 % of one "
                    "core, RSS 110.6 MB (peak 115.3), first result 0.063 s; **detect dominates (46 % of stage "
                    "time)**, p50 total 4.10 ms per frame, the face model 0.53 ms p50; audio features 37.78 ms p50 "
                    "per utterance (6 utterances; v3 adds the speech embedding). Max speed: 249.32 fps, CPU 172 % "
                    "of one core (decoding in its own thread), detect 49 % of stage time. The 2026-11-29 run "
                    "(`face` v2, AMX machine with an emulation job on the other core): CPU 26.7 %, p50 total "
                    "19.57 ms, 130.53 fps at max speed"),
          default=True),
    Suite(name="tracking",
          measures=("id switches on the two-face clip (`edge-convert tracking-clip`, built in memory), defaults "
                    "and max_missed_s = 1 s"),
          files=("tracking.md", "tracking.json", "tracking-missed-1s/"),
          commands=("python benchmarks/tracking.py --out benchmarks/reports",
                    ("python benchmarks/tracking.py --detector blazeface --track max_missed_s=1.0 --out "
                     "benchmarks/reports/tracking-missed-1s")),
          headline=("two face-photos crossing twice (once nearer, once at the same size), one out of the frame "
                    "1.6 s, one away 4.5 s (`edge-convert tracking-clip`, 200 frames): **0 id switches** with "
                    "BlazeFace and Haar; 3 returns with the same id, 1 new id after the long absence (by design); "
                    "with `max_missed_s = 1.0`: 0 switches, 3 new ids"),
          default=True),
    Suite(name="text",
          measures="the text model's artifacts through edge/: GoEmotions test, MELD dev, our own sentences",
          files=("text_validation.md", "text_validation.json"),
          commands=("edge-convert validate-text --min-macro-f1 0.55 --max-gap 0.5 --context 0 0.1 0.2 0.3 0.4",),
          headline=("the shipped text v2 int8 through `edge/`: GoEmotions test (Ekman grouping) macro-F1 **55.23 "
                    "%** TFLite, 55.39 % ONNX (target >= 55 %, ONNX within 0.5 point: met; v1 was 55.74 %); 63.16 "
                    "% accuracy on single-label comments; MELD dev UAR **38.17 %**, weighted F1 **50.95 %** (v1: "
                    "26.56 / 33.28 %); 50 of our own 106 sentences (v1: 44); `text.context` 0.1-0.4 lowers MELD "
                    "dev UAR to 35.70-32.24 %")),
    Suite(name="text-avx2",
          measures="the same on an emulated AVX2-only CPU",
          files=("text_validation_avx2.md", "text_validation_avx2.json"),
          commands=(("qemu-x86_64-static -cpu Haswell-v4 .venv/bin/python -m convert.cli validate-text --stem "
                     "text_validation_avx2 --emulated \"qemu-x86_64-static -cpu Haswell-v4\" --max-gap 0.5"),),
          headline=("**text v1, not the shipped v2**: the same on an emulated AVX2-only CPU: 55.74 % TFLite, "
                    "55.77 % ONNX (its latencies are emulation, no speed figure); not re-run for v2 yet")),
    Suite(name="text-latency",
          measures="one sentence through the text classifier: latency and instructions",
          files=("text_latency.md", "text_latency.json"),
          commands=("python benchmarks/text_latency.py --seconds 5 --callgrind",),
          headline=("the shipped text v2: one 64-token sentence through `classify`, 1 thread: **0.39 ms** p50 "
                    "TFLite, 0.39 ms ONNX (budget 2 ms: met; thread CPU time p99 1.11 / 1.07 ms; wall-clock p90 "
                    "1.70 / 1.48 ms is other jobs on this shared 2-core AMD EPYC, load average 5.4); 4.60 M / "
                    "4.15 M instructions per sentence under callgrind (AVX2 kernels; v1: 2.93 M / 2.49 M, v2's "
                    "tokeniser is the added cost)")),
    Suite(name="live",
          measures="the live page's cost to `run --source sample`: off, on without a viewer, one and two viewers",
          files=("live_page.md", "live_page.json"),
          commands=("python benchmarks/live_page.py --trials 3 --seconds 15 --out benchmarks/reports",),
          headline=("`run --source sample`, whole-process CPU in % of one core: page off 7.6, on without viewer "
                    "7.5, one viewer 8.5, two viewers 8.7; 10.0 results/s in every mode; 4.93-5.00 pictures/s per "
                    "viewer (cap 5)"),
          default=True),
    Suite(name="fer",
          measures="edge-emotion's image path against the `fer` package on the same photos: speed and accuracy",
          files=("compare_fer.md", "compare_fer.json"),
          commands=("test -x .bench-venv/bin/python || bash benchmarks/setup_fer_env.sh",
                    ".bench-venv/bin/python benchmarks/compare_fer.py --out benchmarks/reports"),
          headline=("2026-11-29, `face` (v2), AMX machine while three emulation/training jobs shared its 2 cores: "
                    "310 photos x 3 rounds, 1 thread, interleaved: median per image **7.24 ms** (edge-emotion) vs "
                    "**31.07 ms** (fer): **4.29x** (target >= 4x: met); accuracy **0.461** vs **0.410** (target "
                    "higher: met); face found 0.994 vs 0.684"),
          default=True),
    Suite(name="soak",
          measures="the kiosk for 15 minutes: memory growth, results per minute, gaps",
          files=("soak.md", "soak.json"),
          commands=("nice -n 10 python benchmarks/soak.py --minutes 15 --out benchmarks/reports",),
          headline=("2026-12-08, `face` v3 + `voice` v3, AMD EPYC (no AMX): the kiosk for 15 min: RSS **+1.5 MB/h** "
                    "after the first minute (111.3 -> 112.9 MB), 599.7 results/min (min 596 of the clip's 600), "
                    "largest gap 0.157 s, 224 utterances heard in 38 passes, 0 warnings, SIGTERM to exit 0.114 s "
                    "(2026-11-29, v2 models, AMX machine: +1.3 MB/h, 585/min, gap 1.497 s)")),
    Suite(name="input-memory",
          measures="`infer`'s peak memory per input, the largest accepted and hostile ones refused",
          files=("input_memory.md", "input_memory.json"),
          commands=("nice -n 10 python benchmarks/input_memory.py --out benchmarks/reports",),
          headline=("`infer`'s peak RSS per input: worst **204.5 MB** (24 MP progressive JPEG; 16-bit PNG 204.2 "
                    "MB), 30 s WAV 168.9 MB, 3.61 MB per second of audio, hostile headers refused at 47.6-59.4 MB "
                    "(budget 400 MB)")),
    Suite(name="arm64",
          measures="`infer` on Debian arm64 under qemu (aarch64 wheels) against x86 (also `make arm64-check`)",
          files=("arm64_check.md",),
          commands=("sudo bash benchmarks/arm64_check.sh --out benchmarks/reports",),
          headline=("Debian bookworm arm64 under qemu, aarch64 wheels: `infer` labels equal to x86's on QEMU_CPU "
                    "cortex-a57/a72/a76, LiteRT and onnxruntime; largest probability difference 0.0039 (one int8 "
                    "step); from scratch about 36 min, so not in CI"),
          section="device"),
    Suite(name="arm64-tflite-runtime",
          measures="the same with tflite-runtime 2.13 on Python 3.9 (a Jetson Nano's backend)",
          files=("arm64_check_bullseye.md",),
          commands=(("ARM64_SUITE=bullseye ARM64_BACKENDS='tflite-runtime' ARM64_REF_PYTHON=.venv38/bin/python "
                     "sudo -E bash benchmarks/arm64_check.sh --out benchmarks/reports"),),
          headline=("tflite-runtime 2.13.0 aarch64 (a Nano's backend) on cortex-a57/a72/a76 under qemu, Python "
                    "3.9: probabilities identical to x86's tflite-runtime (difference 0.0000); found that "
                    "tflite-runtime 2.13 fails under NumPy 2 (the `[tflite]` extra pins `numpy<2`)"),
          section="device"),
    Suite(name="device-latency",
          measures="each shipped .tflite model's MACs, p50 here and estimates for Cortex-A57/A72/A76",
          files=("device_latency.md", "device_latency.json"),
          commands=("python benchmarks/device_latency.py --out benchmarks/reports",),
          headline=("per shipped .tflite model: MACs (sidecar), p50 here, and **estimates** for Cortex-A57/A72/A76 "
                    "from published XNNPACK figures; 2026-12-07 (AMD EPYC, VNNI, no AMX, idle): `face` v3 (56.9 M "
                    "MACs) 0.33 ms here, 35-59 ms estimated on a Nano core (`face_v2` 25.4 M: 16-26 ms), "
                    "`face_large` (436 M) 268-450 ms; voice v3's speech embedding about 157 M MACs per second of "
                    "speech, 97-162 ms on a Nano core"),
          section="device"),
    Suite(name="voice-cv",
          measures="the voice recipe speaker-independently: folds quantized and run through edge/",
          files=("voice_cv.md", "voice_cv.json"),
          commands=("edge-convert train-voice --out runs/voice",
                    "edge-convert validate-voice"),
          headline=("2026-11-29, three MLPs: int8 TFLite through `edge/`, cold start: RAVDESS actors held out "
                    "**60.10 %** UAR (target 65), Emo-DB LOSO **72.46 %** (target 72); -20 dB 58.96 / 72.18 %; "
                    "levels, pink noise, confusions, per fold"),
          section="voice"),
    Suite(name="voice-latency",
          measures="classifying 1 s of speech: thread CPU and wall time",
          files=("voice_latency.md", "voice_latency.json"),
          commands=("python benchmarks/voice_latency.py --seconds 5",),
          headline=("2026-12-07, `voice` v3 (functionals + speech embedding), AMD EPYC (AVX-512 VNNI, no AMX), "
                    "load 0.38: classify 1 s of 16 kHz speech, 1 thread, thread CPU p50 **7.30 ms** (budget 15 ms "
                    "per second here; over it on ARM by the MAC estimate), p99 10.02 ms; the speech embedding "
                    "alone 3.70 ms. v2 (2026-11-29, AMX machine under load): 3.81 ms"),
          section="voice"),
    Suite(name="voice-instructions",
          measures="instructions under callgrind: features and model",
          files=("voice_instructions.md", "voice_instructions.json"),
          commands=("python benchmarks/voice_instructions.py --n 20",),
          headline=("callgrind (AVX2 kernels): classify 1 s 23.00 M instructions, features 21.23 M, int8 model "
                    "(three MLPs) 0.37 M"),
          section="voice"),
    Suite(name="voice-onnx",
          measures="ONNX against TFLite fold models on held-out files, natively and on an emulated Haswell",
          files=("voice_onnx_native.md", "voice_onnx_native.json", "voice_onnx_avx2.md", "voice_onnx_avx2.json"),
          commands=("python benchmarks/voice_onnx_avx2.py features",
                    "python benchmarks/voice_onnx_avx2.py compare --name voice_onnx_native",
                    ("qemu-x86_64-static -cpu Haswell-v4 .venv/bin/python benchmarks/voice_onnx_avx2.py compare "
                     "--name voice_onnx_avx2 --emulated \"qemu-x86_64-static -cpu Haswell-v4\"")),
          headline=("2026-11-29, three MLPs: fold models on held-out files: this CPU RAVDESS ONNX 59.69 vs TFLite "
                    "60.10 %, Emo-DB 72.60 vs 72.46 %; emulated Haswell (AVX2, no AVX-512/VNNI): identical. "
                    "Within 0.5 point for both (-0.42, +0.14); shipped pair same label on 99.51 % of 1,628 files"),
          section="voice"),
)

SECTIONS = {
    "main": """# edge-bench reports from this machine

Made on 2026-11-26 and 2026-11-29 (each row says which) on this project's development machine (Intel Xeon VM,
2 cores, ISA `avx2 avx512f avx512_vnni avx_vnni amx_int8`: its int8 speeds are AMX speeds, lower bounds for any
device; shared with other jobs; governor and temperatures not exposed to the guest); each report file starts with
its exact command and ends with the machine, the library versions and the model sha256s. Reports made before
2026-11-29 19:50 UTC that name `face_int8.*` measured face model version 1, now shipped as `face_large_int8.*`
(its .tflite file byte for byte).

`bash benchmarks/run_reports.sh SUITE` runs a suite's commands (SUITE: the first column); with no SUITE it runs
the default ones (marked *). This page and that script both come from the table in `benchmarks/suites.py`: edit
a row there, then `python benchmarks/suites.py index --write`.
""",
    "device": "Device targets (issue 14), made 2026-11-29; not in the default run (root, qemu, published figures):",
    "voice": "Voice model v2 (issue 12), made 2026-11-29; not in the default run (a training, emulation, callgrind):",
}
FOOTER = """The per-stage figures are the `timing_ms` of each published result, so a stage that had nothing to do in a
step (no new audio) is left out of its percentiles but counted in its share.
"""

# The commands run in this checkout's environment: `python`, `edge-bench` and `edge-convert` are $PY's.
PRELUDE = """set -euo pipefail
PY="${PY:-.venv/bin/python}"
python() { "$PY" "$@"; }
edge-bench() { "$PY" -m edge.bench.cli "$@"; }
edge-convert() { "$PY" -m convert.cli "$@"; }
# `nice -n N CMD` that also runs the functions above
nice() { local n="$2"; shift 2; ( renice -n "$n" -p "$BASHPID" >/dev/null; "$@" ); }
# a command's output with the command on top, into FILE and onto the screen
record() { local out="$1"; shift; { echo "\\$ $*"; "$@"; } > "$out"; cat "$out"; }
"""


def by_name(names: Iterable[str]) -> list[Suite]:
    """The suites named (the default ones when none); an unknown or hand-made one ends with a line naming the
    choices or the reports that hold the commands."""
    table = {s.name: s for s in SUITES}
    names = list(names)
    if not names:
        return [s for s in SUITES if s.default]
    unknown = [n for n in names if n not in table]
    if unknown:
        raise SystemExit(f"run_reports: no suite {', '.join(unknown)}; choose from {', '.join(table)}")
    manual = [n for n in names if not table[n].commands]
    if manual:
        raise SystemExit(f"run_reports: {', '.join(manual)} is made by hand, its reports hold the exact commands: "
                         + ", ".join(f for n in manual for f in table[n].files))
    return [table[n] for n in names]


def script(names: Iterable[str] = ()) -> str:
    """The bash that runs the suites' commands from the repository root."""
    out = [PRELUDE]
    for s in by_name(names):
        out.append(f"echo {shlex.quote(f'== {s.name}: {s.measures}')} >&2")
        out.extend(s.commands)
    return "\n".join(out) + "\n"


HEADER = "| suite | what it measures | files | command | headline (from that report) |"


def _code(text: str) -> str:
    return "`" + text.replace("|", "\\|") + "`"  # a | inside a table cell ends the cell unless escaped


def index() -> str:
    """The Markdown index of every suite, by section."""
    out = []
    for section, intro in SECTIONS.items():
        out += ["", intro.rstrip("\n"), "", HEADER, "| --- | --- | --- | --- | --- |"]
        for s in SUITES:
            if s.section != section:
                continue
            name = f"`{s.name}`" + (" *" if s.default else "")
            command = s.shown or "; ".join(_code(c) for c in s.commands)
            out.append(f"| {name} | {s.measures} | {', '.join(_code(f) for f in s.files)} | {command} | "
                       f"{s.headline.replace('|', chr(92) + '|')} |")
    return "\n".join(out[1:]) + "\n\n" + FOOTER


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python benchmarks/suites.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    sub.add_parser("list", help="every suite, * when the default run includes it")
    s = sub.add_parser("script", help="the bash that runs these suites (the default ones when none is named)")
    s.add_argument("suites", nargs="*")
    i = sub.add_parser("index", help="the Markdown index of the reports")
    i.add_argument("--write", action="store_true", help=f"write it to {INDEX.relative_to(ROOT)} instead of stdout")
    args = p.parse_args(argv)
    if args.what == "list":
        for s in SUITES:
            print(f"{s.name:20} {'*' if s.default else ' '} {s.measures}")
    elif args.what == "script":
        sys.stdout.write(script(args.suites))
    elif args.write:
        INDEX.write_text(index())
    else:
        sys.stdout.write(index())
    return 0


if __name__ == "__main__":
    sys.exit(main())
