"""Passphrase strength and the wrong-passphrase backoff. Pure Python, any thread.

Strength is judged the way an attacker would guess: a passphrase on the common list, or
made of a keyboard run or one repeated character, is weak whatever its length; otherwise
the estimate grows with length and the kinds of characters used. The meter guides, it
does not forbid: a weak passphrase can still be used after the officer acknowledges it.

The backoff slows guessing at the unlock dialog: after the n-th consecutive wrong
passphrase the next attempt waits 0, 1, 2, 4, 8 … seconds (capped).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

MIN_LENGTH = 8
RECOMMENDED_LENGTH = 12
BACKOFF_CAP_S = 300.0

# The most used passwords in public breach statistics, plus obvious words of the trade.
COMMON_PASSWORDS = frozenset("""
123456 123456789 12345678 12345 1234567 1234567890 111111 000000 123123 654321 666666 121212
password password1 password123 passw0rd p@ssword p@ssw0rd qwerty qwerty123 qwertyuiop azerty
abc123 abcdef abcd1234 iloveyou letmein welcome welcome1 admin administrator root toor login
monkey dragon football baseball basketball soccer hockey master shadow sunshine princess
superman batman trustno1 starwars whatever freedom mustang michael jennifer jordan hunter
ranger buster thomas robert daniel charlie andrew joshua ashley jessica pepper ginger tigger
summer winter spring autumn flower hello hello123 secret secret123 changeme default guest
test test123 testing temp temp123 pass pass123 1q2w3e4r 1q2w3e zaq12wsx qazwsx asdfgh
asdfghjkl zxcvbnm 1qaz2wsx killer cheese computer internet google samsung apple orange
banana chocolate cookie love loveme lovely family friends forever matrix hockey1 soccer1
police police123 officer investigator detective sergeant constable justice evidence
casefile casework workstation cetsadmin security secure letmein1 access access123
""".split())

_KEYBOARD_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "abcdefghijklmnopqrstuvwxyz")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})


@dataclass(frozen=True)
class Strength:
    """Score 0 (very weak) … 4 (strong), a word for it, and what would make it better."""

    score: int
    label: str
    problems: tuple[str, ...]
    bits: float

    @property
    def weak(self) -> bool:
        """Weak enough that the officer must acknowledge it before using it."""
        return self.score < 2


LABELS = ("Very weak", "Weak", "Fair", "Good", "Strong")


def _is_run(text: str) -> bool:
    low = text.lower()
    if len(set(low)) <= 2:
        return True
    for row in _KEYBOARD_ROWS:
        if low in row or low in row[::-1]:
            return True
    return False


def _is_common(text: str) -> bool:
    low = text.lower().strip()
    core = re.sub(r"[\d\W_]+$", "", low)  # "Summer2024!" is "summer" with a suffix
    core = re.sub(r"^[\d\W_]+", "", core)
    candidates = {low, core, low.translate(_LEET), core.translate(_LEET)}
    return any(c in COMMON_PASSWORDS for c in candidates if c)


def estimate_strength(passphrase: str) -> Strength:
    """Judge ``passphrase`` (length, character classes, common-password and pattern checks)."""
    text = passphrase or ""
    problems: list[str] = []
    classes = {
        "lower": any(c.islower() for c in text),
        "upper": any(c.isupper() for c in text),
        "digit": any(c.isdigit() for c in text),
        "symbol": any(not c.isalnum() and not c.isspace() for c in text),
        "space": any(c.isspace() for c in text),
    }
    pool = (26 if classes["lower"] else 0) + (26 if classes["upper"] else 0) + \
        (10 if classes["digit"] else 0) + (33 if classes["symbol"] else 0) + (1 if classes["space"] else 0)
    if any(ord(c) > 127 for c in text):
        pool += 64
    bits = len(text) * math.log2(pool) if pool and text else 0.0
    if not text:
        return Strength(0, LABELS[0], ("Enter a passphrase.",), 0.0)
    if _is_common(text):
        return Strength(0, LABELS[0], ("This is one of the most commonly used passwords.",), min(bits, 10.0))
    if _is_run(text):
        return Strength(0, LABELS[0], ("Avoid keyboard runs and repeated characters.",), min(bits, 10.0))
    if bits < 40:
        score = 1
    elif bits < 60:
        score = 2
    elif bits < 80:
        score = 3
    else:
        score = 4
    if len(text) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters ({RECOMMENDED_LENGTH}+ recommended).")
        score = min(score, 1)
    elif len(text) < RECOMMENDED_LENGTH:
        problems.append(f"Longer is stronger: {RECOMMENDED_LENGTH} or more characters, or several words.")
        score = min(score, 2)
    used = sum(classes.values())
    if used < 2 and len(text) < 20:
        problems.append("Mix letters with digits, capitals, symbols or spaces — or use more words.")
        score = min(score, 2)
    return Strength(score, LABELS[score], tuple(problems), bits)


def backoff_delay(failures: int, cap_s: float = BACKOFF_CAP_S) -> float:
    """Seconds to wait after ``failures`` consecutive wrong passphrases: 0, 1, 2, 4, 8 …"""
    if failures <= 1:
        return 0.0
    return float(min(cap_s, 2 ** (failures - 2)))


class Backoff:
    """Counts consecutive wrong passphrases and says how long the next try must wait.

    ``now`` is injectable (tests). Thread: the owner's (UI) thread.
    """

    def __init__(self, now: Callable[[], float] = time.monotonic, cap_s: float = BACKOFF_CAP_S) -> None:
        self._now = now
        self.cap_s = cap_s
        self.failures = 0
        self._until = 0.0

    def record_failure(self) -> float:
        """Note a wrong passphrase; returns the wait before the next attempt."""
        self.failures += 1
        delay = backoff_delay(self.failures, self.cap_s)
        self._until = self._now() + delay
        return delay

    def record_success(self) -> None:
        self.failures = 0
        self._until = 0.0

    def remaining(self) -> float:
        """Seconds left before another attempt is allowed (0 when allowed)."""
        return max(0.0, self._until - self._now())
