#!/usr/bin/env bash
# The package on arm64, here: a Debian bookworm arm64 root file system (debootstrap) run under qemu-user-static,
# edge-emotion installed in it from aarch64 wheels with pip (as on Raspberry Pi OS Bookworm 64-bit), then
# `edge-emotion infer` on the crosscheck photos and WAVs with the CPU models of a Jetson Nano (Cortex-A57),
# a Raspberry Pi 4 (A72) and a Pi 5 (A76), compared with this x86 machine's results.
#
#   sudo bash benchmarks/arm64_check.sh [--out benchmarks/reports]      (make arm64-check)
#   ARM64_SUITE=bullseye ARM64_BACKENDS=tflite-runtime ARM64_REF_PYTHON=.venv38/bin/python \
#     sudo -E bash benchmarks/arm64_check.sh     # tflite-runtime's aarch64 build (a Nano's backend), Python 3.9
#
# Needs root, debootstrap and qemu-user-static (Debian packages); the root file system is cached in .arm64/
# (git-ignored; delete it to start from scratch). Writes arm64_check.md/.json into --out.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=benchmarks/reports
[ "${1:-}" = "--out" ] && OUT=$2
CACHE=${ARM64_CACHE:-.arm64}
SUITE=${ARM64_SUITE:-bookworm}
ROOTFS=$CACHE/rootfs-$SUITE
BACKENDS=${ARM64_BACKENDS:-litert onnxruntime}
EXTRAS=onnx
case " $BACKENDS " in *" tflite-runtime "*) EXTRAS=onnx,tflite ;; esac
REPORT=arm64_check$( [ "$SUITE" = bookworm ] || echo "_$SUITE")
CPUS=${ARM64_CPUS:-cortex-a57 cortex-a72 cortex-a76}
# 5 steps of the int8 output (1/256): ARM's XNNPACK kernels requantize and round differently from x86's, and the
# float BlazeFace detector moves a box by a pixel; a label change on these inputs is a failure.
TOL=${ARM64_TOL:-0.02}
PY=${PYTHON:-.venv/bin/python}
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.0f}')"; }

[ "$(id -u)" = 0 ] || { echo "arm64_check: needs root (debootstrap, chroot, binfmt_misc)"; exit 2; }
for tool in debootstrap qemu-aarch64-static; do
  command -v "$tool" >/dev/null || PATH="$PATH:/usr/sbin" command -v "$tool" >/dev/null || {
    echo "arm64_check: $tool missing: apt-get install debootstrap qemu-user-static"; exit 2; }
done
export PATH="$PATH:/usr/sbin"

# Run arm64 binaries through qemu: register the handler with the F flag (the interpreter is opened now, so it
# also works inside the chroot).
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  grep -v '^#' /usr/lib/binfmt.d/qemu-aarch64.conf | head -n 1 > /proc/sys/fs/binfmt_misc/register
fi

t0=$(now)
if [ ! -e "$ROOTFS/.ok" ]; then
  rm -rf "$ROOTFS.tmp"
  debootstrap --arch=arm64 --variant=minbase --include=python3-venv,ca-certificates "$SUITE" "$ROOTFS.tmp" \
    http://deb.debian.org/debian
  umount "$ROOTFS.tmp/proc" 2>/dev/null || true
  # .ok records how long the build took, for the report of later runs from the cache.
  echo "$(secs "$t0" "$(now)") s, $(date -u +%F), debootstrap --arch=arm64 --variant=minbase $SUITE" > "$ROOTFS.tmp/.ok"
  mv "$ROOTFS.tmp" "$ROOTFS"
fi
t_rootfs=$(now)

mounted=()
cleanup() { for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done; }
trap cleanup EXIT
for m in proc dev; do
  mountpoint -q "$ROOTFS/$m" || { if [ $m = proc ]; then mount -t proc proc "$ROOTFS/proc"; else mount --bind /dev "$ROOTFS/dev"; fi; }
  mounted+=("$ROOTFS/$m")
done
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"

# The package as a device gets it: a wheel (pure Python, models inside), dependencies as aarch64 wheels only.
rm -rf build/arm64 && mkdir -p build/arm64/inputs
"$PY" -m pip wheel -q --no-deps --no-build-isolation -w build/arm64 . >/dev/null
"$PY" tests/crosscheck.py list | xargs -I{} cp {} build/arm64/inputs/
rm -rf "$ROOTFS/work" && mkdir -p "$ROOTFS/work" && cp -r build/arm64/* "$ROOTFS/work/"
WHEEL=$(cd build/arm64 && ls edge_emotion-*.whl)
# The CA bundle this machine's pip trusts (a registry proxy may sign with its own CA); no host pip settings inside.
cp "${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}" "$ROOTFS/work/ca.crt"
PIPI="/opt/ee/bin/pip install -q --disable-pip-version-check --cert /work/ca.crt --only-binary=:all:"
chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root /bin/sh -c "[ -x /opt/ee/bin/pip ] || python3 -m venv /opt/ee; \
  $PIPI --force-reinstall --no-deps /work/$WHEEL && $PIPI '/work/$WHEEL[$EXTRAS]'"
t_install=$(now)
versions=$(chroot "$ROOTFS" /opt/ee/bin/python -c "
import platform, importlib.metadata as m
names = [n for n in ('ai-edge-litert', 'tflite-runtime', 'onnxruntime', 'numpy', 'opencv-python-headless')
         if any(d.metadata['Name'].lower().replace('_', '-') == n for d in m.distributions())]
print('Python ' + platform.python_version() + ' ' + platform.machine() + ', ' + ', '.join(n + ' ' + m.version(n) for n in names))")

# Reference: the same inputs on this machine (the main environment; tflite-runtime: ARM64_REF_PYTHON, e.g. .venv38).
"$PY" tests/crosscheck.py run --out build/arm64/x86-litert.jsonl
case " $BACKENDS " in *" tflite-runtime "*)
  "$PY" tests/crosscheck.py run --python "${ARM64_REF_PYTHON:?set ARM64_REF_PYTHON to a Python with tflite-runtime}" \
    --out build/arm64/x86-tflite-runtime.jsonl ;; esac
"$PY" -m edge.cli infer --face-model edge/models/face_int8.onnx --voice-model edge/models/voice_int8.onnx \
  $("$PY" tests/crosscheck.py list) > build/arm64/x86-onnxruntime.jsonl 2>/dev/null
ONNX_MODELS=$(chroot "$ROOTFS" /opt/ee/bin/python -c 'import edge.paths as p; print(p.MODELS_DIR)')
lines=()
status=0
for cpu in $CPUS; do
  for backend in $BACKENDS; do
    # onnxruntime: the int8 ONNX face and voice models (the Jetson GPU path's files) on its ARM CPU kernels.
    flags=""
    [ $backend = onnxruntime ] && flags="--face-model $ONNX_MODELS/face_int8.onnx --voice-model $ONNX_MODELS/voice_int8.onnx"
    [ $backend = tflite-runtime ] && flags="--backend tflite-runtime"
    s=$(now)
    chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root QEMU_CPU="$cpu" /bin/sh -c \
      "cd /work/inputs && /opt/ee/bin/edge-emotion infer $flags * 2>/dev/null" \
      > "build/arm64/$cpu-$backend.jsonl"
    e=$(now)
    ref=build/arm64/x86-$backend.jsonl
    verdict=$("$PY" tests/crosscheck.py compare "$ref" "build/arm64/$cpu-$backend.jsonl" --prob-tol "$TOL") || status=1
    echo "$verdict"
    lines+=("| $cpu | $backend | $(secs "$s" "$e") | ${verdict##*: } | $(echo "$verdict" | tail -n 1 | sed 's/.*largest probability difference \([0-9.]*\).*/\1/') |")
  done
done
t_end=$(now)

mkdir -p "$OUT"
{
  echo "# arm64 check: edge-emotion infer in a Debian $SUITE arm64 root file system under qemu-user-static"
  echo
  if [ "$SUITE" = bookworm ]; then
    echo "Command: \`sudo bash benchmarks/arm64_check.sh --out $OUT\` (\`make arm64-check\`)"
  else
    echo "Command: \`ARM64_SUITE=$SUITE ARM64_BACKENDS='$BACKENDS' ARM64_REF_PYTHON=${ARM64_REF_PYTHON:-} sudo -E bash benchmarks/arm64_check.sh --out $OUT\`"
  fi
  echo
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) ($(grep -o -w -E 'avx2|avx512f|avx512_vnni|avx_vnni|amx_int8' /proc/cpuinfo | sort -u | xargs)), $(nproc) cores, $(qemu-aarch64-static --version | head -n 1)"
  echo
  echo "Inside the root file system: $versions, installed with \`pip install --only-binary=:all: edge_emotion-*.whl[$EXTRAS]\`."
  echo
  echo "Inputs: \`python tests/crosscheck.py list\` (one photo per face-photos label, one Emo-DB utterance per emotion)."
  echo "Each result is compared with this x86 machine's (same backend): labels equal, face boxes IoU >= 0.9,"
  echo "probabilities within $TOL (5 steps of the int8 output's 1/256: ARM and x86 XNNPACK kernels round"
  echo "requantization differently and the float detector can move a box by a pixel)."
  echo
  echo "| QEMU_CPU | backend | infer time (s, emulated) | verdict | largest probability difference |"
  echo "| --- | --- | --- | --- | --- |"
  printf '%s\n' "${lines[@]}"
  echo
  echo "Times: root file system $(secs "$t0" "$t_rootfs") s this run (built from scratch: $(cat "$ROOTFS/.ok")),"
  echo "pip install $(secs "$t_rootfs" "$t_install") s, all infer runs $(secs "$t_install" "$t_end") s, total $(secs "$t0" "$t_end") s."
  echo "Emulated times say nothing about speed on the real cores (qemu translates every instruction)."
  built=$(cut -d' ' -f1 "$ROOTFS/.ok")
  echo
  echo "From scratch: about $(secs 0 "$(python3 -c "print($built + $t_end - $t_rootfs)")") s (root file system + install + runs),"
  echo "over CI's 15-minute budget for this check (root file system times vary with the machine's load), so it is"
  echo "not in \`make test\`; run it by hand."
  [ "$SUITE" != bookworm ] || {
    echo "Not covered here: tflite-runtime's aarch64 build (the Jetson Nano's backend on Python 3.8; bookworm has"
    echo "Python 3.11, for which tflite-runtime has no wheel): see arm64_check_bullseye.md (Python 3.9)."; }
} > "$OUT/$REPORT.md"
cat "$OUT/$REPORT.md"
exit $status
