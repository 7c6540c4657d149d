"""Row uids: UUID version 7 (time-ordered), so that a million new rows append to the
unique index instead of scattering across it — random UUIDv4 would make imports slower."""

from __future__ import annotations

import os
import random
import threading
import time

_lock = threading.Lock()
# Uniqueness, not secrecy, is what a row uid needs: a PRNG seeded from the OS is ample and
# spares a system call per row on million-row imports.
_rng = random.Random(os.urandom(32))
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
        rand = _rng.getrandbits(62)
    h = "%032x" % ((ms << 80) | (0x7 << 76) | (seq << 64) | (0b10 << 62) | rand)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
