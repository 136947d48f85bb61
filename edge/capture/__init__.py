"""Capture, the first stage: frames, samples and texts come in here, and nothing behind it waits on them.

`video` (cameras, files, streams; the latest frame only), `audio` (microphone or WAV into a ring buffer),
`text` and `text_inbox` (stdin lines or an MQTT topic into a bounded inbox), `probe` (what a file is, from its
header) and `stoppable` (opening a source that may hang, within the stop budget).
"""

from __future__ import annotations
