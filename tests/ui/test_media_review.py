"""The media review grid as a reviewer uses it: protected tiles, press-and-hold reveals
(audited), digit keys categorising whole stacks, filters, the exposure counter."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtGui import QImage

from tests.core.media import gen
from workstation.media import service as media
from ui.media import MediaReviewWidget
from ui.media.protect import decode_clear
from ui.media.review import HOLD_MS, MediaTileDelegate


@pytest.fixture
def seized(ws, tmp_path: Path) -> dict[str, object]:  # noqa: ANN001
    """A case with six generated pictures, two extra copies of the first (a stack of three)
    and a video."""
    case = ws.create_case("2024-REVIEW-1", "Review").id
    src = tmp_path / "seized"
    src.mkdir()
    for i in range(6):
        (src / f"img{i}.jpg").write_bytes(gen.jpeg_bytes(240, 180, seed=100 + i))
    for n in (1, 2):
        (src / f"img0-copy{n}.jpg").write_bytes((src / "img0.jpg").read_bytes())
    (src / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + gen.noise(4000))
    media.ingest_media(ws, case, src, workers=1)
    by_name = {m.name: m for m in media.list_media(ws, case, limit=None)}
    return {"case": case, "src": src, "by_name": by_name}


def _as_array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    ptr = image.constBits()
    row = image.bytesPerLine()
    data = np.frombuffer(ptr, dtype=np.uint8, count=row * h).reshape(h, row)
    return data[:, : w * 3].reshape(h, w, 3).astype(np.int16)


def _open(widget: MediaReviewWidget, qtbot, case: int, tiles: int) -> None:  # noqa: ANN001
    widget.session.hub.select_case(case)
    qtbot.waitUntil(lambda: widget.model.total() == tiles, timeout=10_000)
    qtbot.waitUntil(lambda: widget.scheme is not None, timeout=10_000)


def _tile_pixels(widget: MediaReviewWidget, qtbot, media_id: int) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """(what the grid shows in the tile's picture area, the clear thumbnail at that size)."""
    model = widget.model
    row = model.row_of(media_id)
    index = model.index(row)
    widget.view.scrollTo(index)
    qtbot.waitUntil(lambda: model.has_thumbnail(media_id), timeout=10_000)
    clear = decode_clear(media.get_thumbnail(widget.session.ws, media_id))
    target = MediaTileDelegate.picture_rect(widget.view.visualRect(index), clear.size())
    widget.view.viewport().repaint()
    shown = widget.view.viewport().grab().toImage().copy(target)
    reference = clear.scaled(target.size(), Qt.AspectRatioMode.IgnoreAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
    return _as_array(shown), _as_array(reference)


def _reveals(ws, media_id: int) -> list:  # noqa: ANN001
    return [e for e in ws.history("media", media_id) if e.action == "media.reveal"]


def test_tiles_are_blurred_and_grey_by_default_and_reveal_only_on_hold(
        session, ws, seized, qtbot) -> None:  # noqa: ANN001
    assert ws.settings.blur_thumbnails and ws.settings.greyscale_thumbnails
    widget = MediaReviewWidget(session)
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    _open(widget, qtbot, seized["case"], tiles=7)  # 6 pictures (one a stack of three) + the video
    assert widget.blur_button.isChecked() and widget.grey_button.isChecked()
    target = seized["by_name"]["img2.jpg"].id
    other = seized["by_name"]["img3.jpg"].id

    shown, clear = _tile_pixels(widget, qtbot, target)
    assert np.abs(shown - clear).mean() > 12  # not the picture
    assert np.abs(shown[:, :, 0] - shown[:, :, 1]).max() <= 2  # grey
    assert np.abs(shown[:, :, 1] - shown[:, :, 2]).max() <= 2
    # Local detail is gone: neighbouring pixels hardly differ.
    assert np.abs(np.diff(shown[:, :, 0], axis=1)).mean() < np.abs(np.diff(clear[:, :, 0], axis=1)).mean() / 3

    index = widget.model.index(widget.model.row_of(target))
    centre = widget.view.visualRect(index).center()
    # A click is not a reveal.
    qtbot.mousePress(widget.view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseRelease(widget.view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.wait(HOLD_MS + 250)
    assert widget.revealed_id is None and _reveals(ws, target) == []

    qtbot.mousePress(widget.view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.waitUntil(lambda: widget.revealed_id == target, timeout=5_000)
    assert len(_reveals(ws, target)) == 1  # audited before it was shown
    shown, clear = _tile_pixels(widget, qtbot, target)
    assert np.abs(shown - clear).mean() < 8  # now the real picture
    still, still_clear = _tile_pixels(widget, qtbot, other)
    assert np.abs(still - still_clear).mean() > 12  # only that one tile
    assert widget.exposure.reveals == 1
    qtbot.wait(150)
    qtbot.mouseRelease(widget.view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert widget.revealed_id is None and widget.revealed_image is None
    shown, clear = _tile_pixels(widget, qtbot, target)
    assert np.abs(shown - clear).mean() > 12
    assert widget.exposure.seconds > 0.1
    assert widget.exposure_label.text().startswith("Revealed 1")
    assert _reveals(ws, other) == []
    # Lowering the protection is the officer's explicit choice, and it is audited.
    widget.blur_button.setChecked(False)
    qtbot.waitUntil(lambda: any(e.action == "media.protection" for e in ws.history("case", seized["case"])),
                    timeout=5_000)
    qtbot.waitUntil(lambda: widget.model.has_thumbnail(target), timeout=5_000)
    shown, clear = _tile_pixels(widget, qtbot, target)
    assert np.abs(np.diff(shown[:, :, 0], axis=1)).mean() > np.abs(np.diff(clear[:, :, 0], axis=1)).mean() / 2
    assert np.abs(shown[:, :, 0] - shown[:, :, 2]).max() <= 2  # still grey
    assert ws.audit.verify().ok


def test_digit_key_categorises_the_current_stack_and_moves_on(session, ws, seized, qtbot) -> None:  # noqa: ANN001
    widget = MediaReviewWidget(session)
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()
    _open(widget, qtbot, seized["case"], tiles=7)
    stack_tile = seized["by_name"]["img0.jpg"]
    assert stack_tile.stack_size == 3
    row = widget.model.row_of(stack_tile.stack_id)  # the stack's tile is its first member
    assert row is not None and widget.model.row_of(stack_tile.id) in (None, row)
    widget.view.setCurrentIndex(widget.model.index(row))
    widget.view.setFocus()
    qtbot.waitUntil(lambda: widget.current_info() is not None, timeout=5_000)
    qtbot.keyClick(widget.view, Qt.Key.Key_1)

    def members() -> set:
        return {m.category for m in media.list_media(ws, seized["case"], stack_id=stack_tile.stack_id)}

    qtbot.waitUntil(lambda: members() == {"1"}, timeout=5_000)
    assert widget.view.currentIndex().row() == row + 1
    qtbot.waitUntil(lambda: (widget.model.info(row) or stack_tile).category == "1", timeout=5_000)
    (entry,) = [e for e in ws.history("case", seized["case"]) if e.action == "media.categorise"]
    assert entry.details["count"] == 3
    # A digit with no category in the scheme does nothing.
    qtbot.keyClick(widget.view, Qt.Key.Key_9)
    qtbot.wait(200)
    assert media.list_media(ws, seized["case"], category="1", limit=None).__len__() == 3

    # Filters: uncategorised, one category, a stack, alerts, known good.
    widget.set_filter("uncategorised")
    qtbot.waitUntil(lambda: widget.model.total() == 6, timeout=5_000)
    widget.set_filter("category", "1")
    qtbot.waitUntil(lambda: widget.model.total() == 1, timeout=5_000)
    widget.view.setCurrentIndex(widget.model.index(0))
    qtbot.keyClick(widget.view, Qt.Key.Key_Return)  # open the stack
    qtbot.waitUntil(lambda: widget.model.total() == 3, timeout=5_000)
    assert widget.back_button.isVisible()
    qtbot.keyClick(widget.view, Qt.Key.Key_Backspace)
    qtbot.waitUntil(lambda: widget.model.total() == 1, timeout=5_000)
    widget.set_filter("all")
    qtbot.waitUntil(lambda: widget.model.total() == 7, timeout=5_000)

    src = seized["src"]
    watch = src.parent / "watch.md5"
    watch.write_text(hashlib.md5((src / "img3.jpg").read_bytes()).hexdigest() + "  img3.jpg\n")
    good = src.parent / "good.md5"
    good.write_text(hashlib.md5((src / "img4.jpg").read_bytes()).hexdigest() + "  img4.jpg\n")
    widget.import_hashset(str(watch), "alert")
    qtbot.waitUntil(lambda: widget.alert_button.isVisible(), timeout=10_000)
    assert widget.alert_button.text() == "⚠ 1 alert"
    widget.import_hashset(str(good), "known_good")
    qtbot.waitUntil(lambda: widget.model.total() == 6, timeout=10_000)
    widget.alert_button.click()
    qtbot.waitUntil(lambda: widget.model.total() == 1, timeout=5_000)
    assert widget.model.id_at(0) == seized["by_name"]["img3.jpg"].id
    widget.set_filter("all")
    widget.known_good_check.setChecked(True)
    qtbot.waitUntil(lambda: widget.model.total() == 7, timeout=5_000)


def test_space_reveal_exposure_counter_and_break_banner(session, ws, seized, qtbot) -> None:  # noqa: ANN001
    widget = MediaReviewWidget(session, break_after_reveals=2, break_after_seconds=3600)
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()
    _open(widget, qtbot, seized["case"], tiles=7)
    widget.view.setFocus()
    for n in (1, 2):
        widget.view.setCurrentIndex(widget.model.index(n))
        current = widget.current_id()
        qtbot.keyPress(widget.view, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda c=current: widget.revealed_id == c, timeout=5_000)
        qtbot.keyRelease(widget.view, Qt.Key.Key_Space)
        assert widget.revealed_id is None
        assert widget.exposure.reveals == n
        assert len(_reveals(ws, current)) == 1
    assert widget.exposure_label.text().startswith("Revealed 2")
    assert widget.banner.isVisible() and "break" in widget.banner.label.text()
    widget.banner.findChild(type(widget.stack_button)).click()
    assert not widget.banner.isVisible()
    # Arrow keys move without revealing anything.
    qtbot.keyClick(widget.view, Qt.Key.Key_Right)
    assert widget.view.currentIndex().row() == 3 and widget.revealed_id is None

    # Locking drops every picture from memory.
    session.detach()
    assert widget.model.total() == 0 and not widget.model.has_thumbnail(seized["by_name"]["img2.jpg"].id)


def test_video_tile_and_model_contract(session, ws, seized, qtbot, qtmodeltester) -> None:  # noqa: ANN001
    widget = MediaReviewWidget(session)
    qtbot.addWidget(widget)
    widget.show()
    _open(widget, qtbot, seized["case"], tiles=7)
    clip = seized["by_name"]["clip.mp4"]
    row = widget.model.row_of(clip.id)
    qtbot.waitUntil(lambda: widget.model.info(row) is not None, timeout=5_000)
    info = widget.model.info(row)
    assert info.is_video and not info.has_thumbnail
    tip = widget.model.data(widget.model.index(row), Qt.ItemDataRole.ToolTipRole)
    assert clip.sha256 in tip and "no playback" in tip
    qtmodeltester.check(widget.model)
    assert widget.delegate.sizeHint(None, widget.model.index(0)) == QSize(168, 190)
    assert isinstance(QPoint(), QPoint)
