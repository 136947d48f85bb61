"""The voice channel: speech gating over the audio input, one emotion per utterance, stale after a while."""

from __future__ import annotations

import threading
from pathlib import Path

from ..audio.wav import probe_wav
from ..capture import probe
from ..capture.audio import check_source as check_audio_source
from ..classify.voice import StreamUpdate, VoiceClassifier, VoiceResult, VoiceStream
from ..fuse.fusion import to_fused
from ..paths import SAMPLE_AUDIO, resolve_model
from .base import Channel, InferOptions, Inferred, Part, gate_options, model_options

# A WAV is classified whole in `infer`: its features take ~3.6 MB per second of audio (30 s peaks at 169 MB,
# benchmarks/reports/input_memory.md), so 30 s stays well within the 400 MB budget; longer recordings stream
# through `edge-emotion run --audio FILE`.
MAX_AUDIO_S = 30.0


class VoiceChannel(Channel):
    """Voice classifier and its utterance stream, built from [models], [audio] and fusion.voice_max_age_s."""

    name = "voice"
    stages = ("audio_features", "audio_classify")
    counters = ("audio_windows",)
    source_key = "audio.source"
    task = "voice"
    infer_kinds = frozenset({probe.AUDIO, probe.VIDEO})  # a video's sound track is the WAV beside it
    no_input = "no audio input"
    off_reason = "audio off"

    def __init__(self, classifier: VoiceClassifier, audio_cfg, max_age_s: float, spec: str | None = None,
                 video_cfg=None) -> None:
        self.classifier, self.audio_cfg, self.max_age_s, self.spec = classifier, audio_cfg, max_age_s, spec
        self.video_cfg = video_cfg  # video.loop (kiosks loop the sound track too) and video.open_timeout_s
        self.capture = None
        self.following = False  # a WAV read up to the video file's position, not paced by the wall clock
        self._loop = 0  # the video file's pass (frame.loop) the sound track is playing
        self.stream: VoiceStream | None = None
        self.windows = 0
        self._last: tuple[float, VoiceResult] | None = None  # (utterance end in stream seconds, its result)

    @classmethod
    def source(cls, cfg) -> str | None:
        return {"sample": str(SAMPLE_AUDIO), "none": None, "": None}.get(cfg.audio.source, cfg.audio.source)

    @classmethod
    def from_config(cls, cfg) -> "VoiceChannel":
        opts = model_options(cfg.models)
        classifier = VoiceClassifier(resolve_model("voice", cfg.models.voice, opts["backend"]), **opts,
                                     **gate_options(cfg.audio))
        return cls(classifier, cfg.audio, cfg.fusion.voice_max_age_s, cls.source(cfg), cfg.video)

    @classmethod
    def check(cls, cfg, spec: str) -> list[str]:
        errors = check_audio_source(spec)
        a = cfg.audio
        if a.min_speech_s > a.max_utterance_s:  # no utterance is ever long enough
            errors.append(f"audio.min_speech_s = {a.min_speech_s:g} is more than audio.max_utterance_s = "
                          f"{a.max_utterance_s:g}: an utterance is cut before it is long enough, so no voice result "
                          "ever comes; lower min_speech_s or raise max_utterance_s")
        return errors

    @classmethod
    def absent(cls, reason: str) -> Part:
        return Part({"audio": None, "audio_reason": reason})

    def part(self, res: VoiceResult, age_s: float | None = None) -> Part:
        """An utterance's fields: its emotion (and age), or null and the reason it has none."""
        if res.probs is None:
            return Part(self.absent(res.reason).fields, value=res)
        d = res.to_dict()
        if age_s is not None:
            d["age_s"] = round(age_s, 3)
        return Part({"audio": d}, to_fused(res.probs, self.classifier.labels), value=res)

    def infer(self, item, kind: probe.FileKind, timing: dict[str, float], options: InferOptions) -> Inferred:
        """A WAV file as one utterance; for a video, the WAV beside it with the same stem (OpenCV reads no audio)."""
        path = Path(item)
        if kind.kind == probe.AUDIO:
            self._check_length(path)
            return Inferred(self.file_part(path, timing))
        wav = path.with_suffix(".wav")
        if not wav.is_file():
            return Inferred(self.absent("no audio track (put <video>.wav beside the video)"))
        try:
            self._check_length(wav)
            return Inferred(self.file_part(wav, timing))
        except ValueError as e:  # a bad sound track costs the voice part, not the video's faces
            return Inferred(self.absent(f"sound track {wav.name} unusable: {str(e).replace(f'{wav}: ', '')}"))

    @staticmethod
    def _check_length(path: Path) -> None:
        info = probe_wav(path)
        if info.duration_s > MAX_AUDIO_S:
            raise ValueError(f"{info.duration_s:.0f} s of audio, more than the {MAX_AUDIO_S:g} s infer classifies at "
                             f"once (memory); cut it into utterances, or stream it with `edge-emotion run --audio "
                             f"{path} --no-video`")

    def file_part(self, path: str | Path, timing: dict[str, float]) -> Part:
        """A whole WAV file as one utterance (`infer`)."""
        # Files may come from different speakers: each starts from the model's own normalisation prior,
        # so a file's result does not depend on which files came before it.
        self.classifier.reset()
        res = self.classifier.classify_file(path)
        timing["audio_features"] = res.timing_ms.get("features", 0.0)
        timing["audio_classify"] = res.timing_ms.get("classify", 0.0)
        return self.part(res)

    # -- the live loop ----------------------------------------------------------------------
    def open(self, stop: threading.Event, realtime: bool, media_clock: bool = False, broker=None) -> None:
        from ..capture.audio import AudioCapture, FollowingAudio, make_audio_source

        a, v = self.audio_cfg, self.video_cfg
        timeout = v.open_timeout_s if v is not None else 10.0
        source = make_audio_source(self.spec, a.device, a.sample_rate)
        self.following = media_clock and source.is_file
        if self.following:
            self.capture = FollowingAudio(source, stop, buffer_s=a.buffer_s, open_timeout_s=timeout).start()
        else:
            self.capture = AudioCapture(source, stop, buffer_s=a.buffer_s, realtime=realtime,
                                        loop=bool(v is not None and v.loop), open_timeout_s=timeout).start()
        self.stream = VoiceStream.from_config(self.classifier, a, self.capture.sample_rate)

    def _restart(self, loop: int) -> None:
        """The looping video started again: so does its sound track, and the last utterance is history."""
        self._loop = loop
        self.capture.restart()
        self.stream = VoiceStream.from_config(self.classifier, self.audio_cfg, self.capture.sample_rate)
        self._last, self.ended = None, False

    def step(self, frame, timing: dict[str, float], until_s: float | None = None) -> Part:
        """Feed the new samples to the utterance stream; the latest utterance while it is fresh."""
        upto = None
        if self.following and until_s is not None:
            if frame is not None and frame.loop != self._loop:
                self._restart(frame.loop)
            upto = int(round(until_s * self.capture.sample_rate))
        samples = self.capture.read(upto)
        update = self.stream.feed(samples)
        if self.capture.exhausted and not self.ended:
            self.ended = True
            last = self.stream.flush()  # end of a file: the utterance in progress still counts
            if last is not None:
                update = StreamUpdate(last, update.windows + last.windows, update.timing_ms)
        timing["audio_features"] = update.timing_ms.get("features", 0.0)
        timing["audio_classify"] = update.timing_ms.get("classify", 0.0)
        self.windows += update.windows
        if update.result is not None:
            r = update.result
            self._last = (r.start_s + r.duration_s, r)
        part = self._now(frame)
        return Part(part.fields, part.vector, fresh=update.result is not None, progressed=len(samples) > 0,
                    value=part.value)

    def _now(self, frame) -> Part:
        """The latest utterance, or null with the reason when there is none or it is stale."""
        waiting = self.stream.reason or "utterance in progress"
        if self._last is None:
            return self.absent(waiting)
        # Ages are in stream time, so files processed faster than real time age their voice results correctly;
        # both clocks start with the pipeline, so a live camera and microphone agree too.
        now_s = max(self.capture.position / self.capture.sample_rate, frame.pos_s if frame is not None else 0.0)
        end_s, res = self._last
        age = max(0.0, now_s - end_s)
        if age > self.max_age_s:
            return self.absent(waiting)
        return self.part(res, age)

    def stats(self) -> dict[str, int]:
        return {"audio_windows": self.windows}

    def close(self, timeout: float = 1.0) -> None:
        if self.capture is not None:
            self.capture.join(timeout=timeout)
