"""What is text at all: bytes from a file, a socket or MQTT decoded, and input that is not text refused with
the reason (capture, `infer` and the classifier all check with these)."""

from __future__ import annotations

import unicodedata

# Bytes that never occur in text; a payload holding them (or many other control characters) is binary.
_BINARY = {0x00}
MAX_CONTROL_SHARE = 0.1


class TextInputError(ValueError):
    """Input that is not text at all (binary, not UTF-8, empty): no result, a reason."""


def decode(data: bytes) -> str:
    """Bytes from a file, a socket or MQTT -> text; binary and non-UTF-8 input raise TextInputError naming it."""
    if any(b in _BINARY for b in data[:4096]):
        raise TextInputError("binary data, not text (it holds NUL bytes)")
    try:
        text = data.decode("utf-8-sig")  # a BOM from Windows editors is not part of the text
    except UnicodeDecodeError as e:
        raise TextInputError(f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); "
                             "convert it first, e.g. iconv -f latin1 -t utf-8") from None
    return text


def check(text: str) -> str:
    """Refuse what is not text: empty or mostly control characters."""
    stripped = text.strip()
    if not stripped:
        raise TextInputError("empty text")
    control = sum(1 for ch in stripped if unicodedata.category(ch) in ("Cc", "Cs", "Co") and ch not in "\t\n\r")
    if control > MAX_CONTROL_SHARE * len(stripped):
        raise TextInputError(f"binary data, not text ({control} control characters in {len(stripped)})")
    return stripped
