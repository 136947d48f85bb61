"""The text inbox: every text cut to its byte limit on arrival, before anything reads it; bounded by count and bytes."""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import NamedTuple

logger = logging.getLogger(__name__)

# Bytes kept of one text, per character of text.max_chars: UTF-8 takes up to 4 bytes a character, a JSON escape
# up to 12 (a surrogate pair, "\ud83d\ude00"); the floor leaves room for a Hermes payload's other fields
# (asrTokens, ~100 bytes a word). Everything past it is cut before any work on the text.
BYTES_PER_CHAR = 12
MIN_TEXT_BYTES = 64 * 1024
# All texts waiting together, whatever text.queue_size says: 100 texts of the 2000-character default cap fit.
INBOX_MAX_BYTES = 8 * 1024 * 1024


def text_byte_limit(max_chars: int) -> int:
    """Bytes kept of one text (a line or a payload) for `text.max_chars` characters."""
    return max(MIN_TEXT_BYTES, BYTES_PER_CHAR * max_chars)


def utf8_head(data: bytes, limit: int) -> bytes:
    """The first `limit` bytes of `data`, without a UTF-8 sequence cut in half at the end."""
    head = data[:limit]
    if len(head) < len(data):
        for back in range(1, min(4, len(head)) + 1):  # the last lead byte, if its sequence is incomplete
            b = head[-back]
            if b & 0xC0 != 0x80:  # not a continuation byte
                need = 2 if b & 0xE0 == 0xC0 else 3 if b & 0xF0 == 0xE0 else 4 if b & 0xF8 == 0xF0 else 1
                if need > back:
                    head = head[:-back]
                break
    return head


class Arrival(NamedTuple):
    data: bytes  # the raw payload or line; decoding and checks happen in the channel, where errors are reported
    at: float  # time.monotonic() when it arrived
    origin: str  # "stdin line 3", "mqtt hermes/asr/textCaptured"
    size: int = 0  # bytes it had before the cut (len(data) when it was not cut)

    @property
    def cut(self) -> bool:
        return self.size > len(self.data)


class TextInbox:
    """A bounded queue: producers never wait; each text is cut to `max_text_bytes`, and when `size` texts or
    `max_bytes` bytes wait, the oldest are dropped, counted and logged."""

    def __init__(self, size: int, max_text_bytes: int = MIN_TEXT_BYTES, max_bytes: int = INBOX_MAX_BYTES) -> None:
        self._q: collections.deque[Arrival] = collections.deque()
        self.size, self.max_text_bytes, self.max_bytes = size, max_text_bytes, max(max_bytes, max_text_bytes)
        self._lock = threading.Lock()
        self.bytes = 0  # bytes waiting
        self.received = 0
        self.dropped = 0
        self.cut = 0  # texts longer than max_text_bytes, cut on arrival

    def put(self, data: bytes, origin: str, size: int | None = None) -> None:
        """Queue one text; `size` is its length before the caller cut it (the stdin reader cuts as it reads)."""
        size = len(data) if size is None else size
        data = utf8_head(data, self.max_text_bytes)  # a copy of at most the limit, made before anything else
        arrival = Arrival(data, time.monotonic(), origin, max(size, len(data)))
        dropped = 0
        with self._lock:
            while self._q and (len(self._q) >= self.size or self.bytes + len(data) > self.max_bytes):
                self.bytes -= len(self._q.popleft().data)
                dropped += 1
            self._q.append(arrival)
            self.bytes += len(data)
            self.received += 1
            self.dropped += dropped
            total_dropped, cut = self.dropped, self.cut + arrival.cut
            self.cut = cut
        if arrival.cut and cut & (cut - 1) == 0:  # the 1st, 2nd, 4th, ... so a flood cannot flood the journal
            logger.warning("text from %s: %d bytes, cut to the first %d (text.max_chars); %d text(s) cut so far",
                           origin, arrival.size, len(data), cut)
        if dropped and any(n & (n - 1) == 0 for n in range(total_dropped - dropped + 1, total_dropped + 1)):
            logger.warning("text inbox full (%d texts or %d bytes waiting): dropped the oldest; %d dropped so far",
                           self.size, self.max_bytes, total_dropped)

    def get(self) -> Arrival | None:
        with self._lock:
            if not self._q:
                return None
            arrival = self._q.popleft()
            self.bytes -= len(arrival.data)
            return arrival

    def __len__(self) -> int:
        return len(self._q)
