"""Thumbnails decoded on worker threads while the UI thread connects and disconnects.

The review grid decodes and protects thumbnails on its read lane while the UI thread keeps
making and breaking signal connections. Decoding through Qt's image readers deadlocked
the two (a worker holding the GIL waited for Qt's connection lock, the UI thread holding
that lock waited for the GIL) and froze the application. Run in a child process, so that a
hang fails the test instead of stopping the suite.
"""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

from PIL import Image

from ui.media.protect import decode_clear, protect

ROOT = Path(__file__).resolve().parents[2]

_STRESS = textwrap.dedent("""
    import io, sys, threading, time
    from PIL import Image
    from PySide6.QtCore import QCoreApplication, QObject, Signal
    from ui.media.protect import protect

    app = QCoreApplication([])
    buf = io.BytesIO()
    Image.new("RGB", (160, 120), (10, 200, 30)).save(buf, "JPEG")
    jpeg = buf.getvalue()

    class Watched(QObject):  # Python overrides: Qt asks Python while holding its lock
        sig = Signal()
        def connectNotify(self, signal): pass
        def disconnectNotify(self, signal): pass

    stop = False
    decoded = [0]
    def work():
        while not stop:
            assert not protect(jpeg).isNull()
            decoded[0] += 1
    threads = [threading.Thread(target=work, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    obj, slot = Watched(), (lambda: None)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 3.0:
        obj.sig.connect(slot)
        obj.sig.disconnect(slot)
    stop = True
    for t in threads:
        t.join()
    print("decoded", decoded[0])
""")


def test_decoding_on_workers_never_freezes_the_ui_thread() -> None:
    try:
        done = subprocess.run([sys.executable, "-c", _STRESS], cwd=ROOT, capture_output=True,
                              text=True, timeout=60, env={"QT_QPA_PLATFORM": "offscreen",
                                                          "PATH": "/usr/bin:/bin"})
    except subprocess.TimeoutExpired:
        raise AssertionError("worker decoding and UI-thread signal changes deadlocked") from None
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) > 100  # the workers really decoded meanwhile


def test_decode_reads_thumbnails_and_refuses_garbage() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buf, "PNG")
    clear = decode_clear(buf.getvalue())
    assert (clear.width(), clear.height()) == (40, 30)
    assert clear.pixelColor(5, 5).red() == 200 and clear.pixelColor(5, 5).green() == 10
    assert decode_clear(b"not an image").isNull()
    assert decode_clear(buf.getvalue()[:40]).isNull()  # truncated
    shown = protect(buf.getvalue())
    assert shown.pixelColor(5, 5).red() == shown.pixelColor(5, 5).blue()  # greyed
