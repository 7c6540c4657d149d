"""The keyhole reveal of the media review grid, as a reviewer uses it: hold Ctrl over a tile
(or hold a tile with the Keyhole toggle on) and only a small circle around the pointer shows
the picture; the rest stays blurred and grey; every tile looked at is an audited reveal."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from tests.ui.test_media_review import _as_array, _open, _reveals, seized  # noqa: F401 - fixture
from workstation.media import service as media
from ui.media import MediaReviewWidget
from ui.media.protect import decode_clear
from ui.media.review import HOLD_MS, KEYHOLE_FRACTION, MediaTileDelegate

CTRL = Qt.KeyboardModifier.ControlModifier


def _move(widget: MediaReviewWidget, pos: QPoint, modifiers: Qt.KeyboardModifier = CTRL,
          buttons: Qt.MouseButton = Qt.MouseButton.NoButton) -> None:
    viewport = widget.view.viewport()
    event = QMouseEvent(QEvent.Type.MouseMove, QPointF(pos), QPointF(viewport.mapToGlobal(pos)),
                        Qt.MouseButton.NoButton, buttons, modifiers)
    QApplication.sendEvent(viewport, event)


def _wheel(widget: MediaReviewWidget, pos: QPoint, notches: int) -> None:
    viewport = widget.view.viewport()
    event = QWheelEvent(QPointF(pos), QPointF(viewport.mapToGlobal(pos)), QPoint(), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, CTRL, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, event)


def _screen(widget: MediaReviewWidget) -> np.ndarray:
    widget.view.viewport().repaint()
    return _as_array(widget.view.viewport().grab().toImage())


def _picture(widget: MediaReviewWidget, qtbot, media_id: int):  # noqa: ANN001, ANN202
    """(where the tile's picture is drawn in the viewport, the clear thumbnail at that size)."""
    index = widget.model.index(widget.model.row_of(media_id))
    widget.view.scrollTo(index)
    qtbot.waitUntil(lambda: widget.model.has_thumbnail(media_id), timeout=10_000)
    clear = decode_clear(media.get_thumbnail(widget.session.ws, media_id))
    target = MediaTileDelegate.picture_rect(widget.view.visualRect(index), clear.size())
    reference = clear.scaled(target.size(), Qt.AspectRatioMode.IgnoreAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
    full = np.zeros((widget.view.viewport().height(), widget.view.viewport().width(), 3), dtype=np.int16)
    full[target.top():target.bottom() + 1, target.left():target.right() + 1] = _as_array(reference)
    return target, full


def _disc(shape: tuple[int, ...], centre: QPoint, radius: float, target) -> np.ndarray:  # noqa: ANN001
    """Mask of the viewport pixels within ``radius`` of ``centre`` and inside the picture."""
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    inside = (xs >= target.left()) & (xs <= target.right()) & (ys >= target.top()) & (ys <= target.bottom())
    return inside & ((xs - centre.x()) ** 2 + (ys - centre.y()) ** 2 <= radius ** 2)


def _grey(pixels: np.ndarray) -> bool:
    return bool(np.abs(pixels[:, 0] - pixels[:, 1]).max() <= 2 and np.abs(pixels[:, 1] - pixels[:, 2]).max() <= 2)


def test_keyhole_shows_only_a_circle_around_the_pointer_and_is_audited(
        session, ws, seized, qtbot) -> None:  # noqa: ANN001, F811
    widget = MediaReviewWidget(session)
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    _open(widget, qtbot, seized["case"], tiles=7)
    assert widget.keyhole_fraction == KEYHOLE_FRACTION and not widget.keyhole_button.isChecked()
    target_id = seized["by_name"]["img2.jpg"].id
    other_id = seized["by_name"]["img3.jpg"].id
    rect, clear = _picture(widget, qtbot, target_id)
    protected = _screen(widget)
    picture = _disc(protected.shape, rect.center(), 1e9, rect)
    # Protected by default: grey, and not the picture.
    assert _grey(protected[picture]) and np.abs(protected[picture] - clear[picture]).mean() > 12

    # Where the keyhole goes: a spot of the picture that looks clearly different unprotected.
    radius = widget.keyhole_radius(rect)
    candidates = [rect.center() + QPoint(dx, dy) for dx in (-30, -15, 0, 15, 30) for dy in (-20, 0, 20)]
    spot = max(candidates, key=lambda p: np.abs(protected[_disc(protected.shape, p, radius * 0.6, rect)]
                                                - clear[_disc(protected.shape, p, radius * 0.6, rect)]).mean())
    inner = _disc(protected.shape, spot, radius * 0.6, rect)
    outer = picture & ~_disc(protected.shape, spot, radius + 4, rect)
    assert np.abs(protected[inner] - clear[inner]).mean() > 12

    # Hovering is not a reveal; holding Ctrl over the tile is.
    _move(widget, spot, Qt.KeyboardModifier.NoModifier)
    qtbot.wait(200)
    assert widget.keyhole_id is None and _reveals(ws, target_id) == []
    widget.view.setFocus()
    qtbot.keyPress(widget.view, Qt.Key.Key_Control, CTRL)
    _move(widget, spot)
    qtbot.waitUntil(lambda: widget.keyhole_id == target_id, timeout=5_000)
    (entry,) = _reveals(ws, target_id)  # audited before it was shown
    assert entry.details["how"] == "keyhole"
    shown = _screen(widget)
    assert np.abs(shown[inner] - clear[inner]).mean() < 8      # the picture inside the circle...
    assert np.abs(shown[outer] - protected[outer]).max() <= 2  # ...and nothing else changed
    assert _grey(shown[outer])
    assert widget.revealed_id is None and widget.exposure.reveals == 1
    assert np.abs(_screen(widget)[picture] - clear[picture]).mean() > 8  # far from the whole picture

    # The circle follows the pointer within the tile: same session, no new audit entry.
    moved = spot + QPoint(int(radius * 2.5), 0) if spot.x() < rect.center().x() else spot - QPoint(int(radius * 2.5), 0)
    _move(widget, moved)
    shown = _screen(widget)
    new_inner = _disc(shown.shape, moved, radius * 0.6, rect)
    assert np.abs(shown[inner] - protected[inner]).max() <= 2  # the old spot is protected again
    assert np.abs(shown[new_inner] - clear[new_inner]).mean() < 8
    assert len(_reveals(ws, target_id)) == 1 and widget.exposure.reveals == 1

    # The wheel widens it (and does not scroll the grid).
    scroll = widget.view.verticalScrollBar().value()
    _wheel(widget, moved, 3)
    assert abs(widget.keyhole_fraction - KEYHOLE_FRACTION * 1.2 ** 3) < 1e-6
    wider = widget.keyhole_radius(rect)
    ring = _disc(shown.shape, moved, wider - 2, rect) & ~_disc(shown.shape, moved, radius + 3, rect)
    assert ring.sum() > 50
    shown = _screen(widget)
    assert np.abs(shown[ring] - clear[ring]).mean() < 8
    assert widget.view.verticalScrollBar().value() == scroll
    _wheel(widget, moved, -3)
    assert abs(widget.keyhole_fraction - KEYHOLE_FRACTION) < 1e-6

    # Onto another tile: that session ends, a new one (audited) begins there.
    other_rect, other_clear = _picture(widget, qtbot, other_id)
    _move(widget, other_rect.center())
    qtbot.waitUntil(lambda: widget.keyhole_id == other_id, timeout=5_000)
    assert _reveals(ws, other_id)[0].details["how"] == "keyhole"
    shown = _screen(widget)
    assert np.abs(shown[picture] - protected[picture]).max() <= 2  # the first tile: protected
    assert widget.exposure.reveals == 2

    # Letting Ctrl go closes the keyhole at once: everything protected, clear pixels dropped.
    qtbot.keyRelease(widget.view, Qt.Key.Key_Control)
    assert widget.keyhole_id is None and widget.keyhole_image is None
    shown = _screen(widget)
    other_picture = _disc(shown.shape, other_rect.center(), 1e9, other_rect)
    assert _grey(shown[other_picture]) and np.abs(shown[other_picture] - other_clear[other_picture]).mean() > 12
    _move(widget, other_rect.center(), Qt.KeyboardModifier.NoModifier)
    qtbot.wait(200)
    assert widget.keyhole_id is None and len(_reveals(ws, other_id)) == 1
    assert widget.exposure.seconds > 0
    assert ws.audit.verify().ok


def test_ctrl_let_go_elsewhere_and_the_keyhole_toggle(session, ws, seized, qtbot) -> None:  # noqa: ANN001, F811
    widget = MediaReviewWidget(session)
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    _open(widget, qtbot, seized["case"], tiles=7)
    first = seized["by_name"]["img4.jpg"].id
    rect, _clear = _picture(widget, qtbot, first)

    # Ctrl released while another control has the keyboard: the keyhole still closes.
    widget.view.setFocus()
    qtbot.keyPress(widget.view, Qt.Key.Key_Control, CTRL)
    _move(widget, rect.center())
    qtbot.waitUntil(lambda: widget.keyhole_id == first, timeout=5_000)
    widget.filter_combo.setFocus()
    qtbot.keyRelease(widget.filter_combo, Qt.Key.Key_Control)
    qtbot.waitUntil(lambda: widget.keyhole_id is None, timeout=2_000)

    # With the Keyhole toggle on, holding a tile reveals it through the keyhole only.
    second = seized["by_name"]["img5.jpg"].id
    rect2, clear2 = _picture(widget, qtbot, second)
    widget.keyhole_button.setChecked(True)
    spot = rect2.center() + QPoint(12, -8)
    viewport = widget.view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=spot)
    qtbot.wait(HOLD_MS // 2)
    assert widget.keyhole_id is None  # a click is not a reveal
    qtbot.waitUntil(lambda: widget.keyhole_id == second, timeout=5_000)
    assert widget.revealed_id is None  # not the whole picture
    assert [e.details["how"] for e in _reveals(ws, second)] == ["keyhole"]
    shown = _screen(widget)
    radius = widget.keyhole_radius(rect2)
    inner = _disc(shown.shape, spot, radius * 0.6, rect2)
    outer = _disc(shown.shape, spot, 1e9, rect2) & ~_disc(shown.shape, spot, radius + 4, rect2)
    assert np.abs(shown[inner] - clear2[inner]).mean() < 8
    assert _grey(shown[outer]) and np.abs(shown[outer] - clear2[outer]).mean() > 12
    # Dragging within the tile moves the circle; letting go protects the tile again.
    _move(widget, spot + QPoint(-24, 10), Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton)
    assert widget.keyhole_pos == spot + QPoint(-24, 10) and widget.keyhole_id == second
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=spot + QPoint(-24, 10))
    assert widget.keyhole_id is None and widget.keyhole_image is None
    assert widget.exposure.reveals == 2 and len(_reveals(ws, second)) == 1

    # Locking drops the keyhole's picture too.
    qtbot.keyPress(widget.view, Qt.Key.Key_Control, CTRL)
    _move(widget, rect.center())
    qtbot.waitUntil(lambda: widget.keyhole_id == first, timeout=5_000)
    session.detach()
    assert widget.keyhole_id is None and widget.keyhole_image is None
