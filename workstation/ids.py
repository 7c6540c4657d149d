"""Row uids: UUID version 7 (time-ordered), so that a million new rows append to the
unique index instead of scattering across it — random UUIDv4 would make imports slower."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_seq = 0


def new_uid() -> str:
    """A fresh UUIDv7 string: 48-bit Unix ms, 12-bit sequence, 62 random bits."""
    global _last_ms, _seq
    ms = time.time_ns() // 1_000_000
    with _lock:
        if ms <= _last_ms:
            _seq += 1
            if _seq > 0xFFF:  # more than 4096 in one ms: borrow the next ms
                _last_ms += 1
                _seq = 0
            ms = _last_ms
        else:
            _last_ms, _seq = ms, 0
        seq = _seq
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (seq << 64) | (0b10 << 62) | rand
    return str(uuid.UUID(int=value))
