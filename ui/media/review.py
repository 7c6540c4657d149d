"""The media review grid: protected thumbnails, deliberate reveals, keyboard categorising.

Reviewer protection (DESIGN.md): every thumbnail is drawn blurred and greyscale by default
(the officer's settings ``blur_thumbnails``/``greyscale_thumbnails`` are the defaults of the
toolbar toggles). One tile at a time is revealed, only on a deliberate action — press and
hold the mouse on it, or hold Space on the current tile — and only after the reveal was
written to the audit trail; letting go hides it again. An exposure counter shows how many
pictures were revealed in this session and for how long, and a non-modal banner suggests a
break past a threshold (``break_after_seconds`` / ``break_after_reveals``).

Keyhole: while Ctrl is held with the pointer on a tile (or while a tile is held with the
"Keyhole" toggle on), the picture stays protected except for a small circle around the
pointer (``keyhole_fraction`` of the picture's long side, 15 % by default; the wheel
changes it, and the choice is kept in the app's settings, ``media/keyhole_fraction``). The circle
follows the pointer inside the tile. Each tile looked at through the keyhole is one reveal
session: audited before its first clear pixel is drawn (``media.reveal`` with
``how="keyhole"``), counted by the exposure counter, ended (clear pixels dropped) when Ctrl
or the mouse is let go, or the pointer leaves the tile.

Keys: arrows move, digits apply the category with that key in the case's scheme to the
current tile's whole duplicate stack (then move on), Enter opens a stack, Backspace goes
back, Space (held) reveals. Filters: all, uncategorised, alerts, one category, a stack;
known-good files are hidden unless asked for. Videos are listed with their hashes.

Thread: UI thread; the service is reached only through the session's lanes.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import (QEvent, QModelIndex, QObject, QPersistentModelIndex, QPoint, QRect, QSize, Qt,
                            QTimer, Signal, Slot)
from PySide6.QtGui import (QColor, QFont, QGuiApplication, QImage, QKeyEvent, QMouseEvent, QPainter, QPainterPath,
                           QPen, QWheelEvent)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListView,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workstation.domain.service import Workstation
from workstation.media import service as media
from workstation.media.categories import CategoryScheme
from ui.appstate import app_settings
from ui.errors import show_error
from ui.media.model import IdRole, InfoRole, MediaGridModel, ThumbRole
from ui.media.protect import decode_clear
from ui.session import Session
from ui.theme import icon, theme_colour

TILE = 168
LABEL_H = 22
HOLD_MS = 350
KEYHOLE_FRACTION = 0.15              # keyhole diameter / the picture's long side, by default
KEYHOLE_LIMITS = (0.05, 0.6)
KEYHOLE_COLOUR = QColor("#f59e0b")
DEFAULT_BREAK_SECONDS = 15 * 60
DEFAULT_BREAK_REVEALS = 60
ALERT_COLOUR = QColor("#dc2626")
_DIGITS = {getattr(Qt.Key, f"Key_{d}"): str(d) for d in range(10)}


class ExposureCounter(QObject):
    """Pictures revealed in this session and the time they were visible. Thread: UI."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.reveals = 0
        self.seconds = 0.0
        self._since: float | None = None

    @property
    def revealing(self) -> bool:
        return self._since is not None

    def total_seconds(self) -> float:
        """Seconds revealed so far, including a reveal still on screen."""
        return self.seconds + (time.monotonic() - self._since if self._since is not None else 0.0)

    def start(self) -> None:
        if self._since is None:
            self.reveals += 1
            self._since = time.monotonic()
            self.changed.emit()

    def stop(self) -> float:
        """End the current reveal; returns how long it lasted."""
        if self._since is None:
            return 0.0
        lasted = time.monotonic() - self._since
        self.seconds += lasted
        self._since = None
        self.changed.emit()
        return lasted

    def text(self) -> str:
        total = int(self.total_seconds())
        return f"Revealed {self.reveals} · {total // 60}:{total % 60:02d}"


class BreakBannerWidget(QFrame):
    """A non-modal reminder across the top of the grid; never blocks the work."""

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("breakBanner")
        self.setStyleSheet("QFrame#breakBanner { background: #fef3c7; border: 1px solid #f59e0b; "
                           "border-radius: 6px; } QFrame#breakBanner QLabel { color: #78350f; }")
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        row.addWidget(self.label, 1)
        button = QPushButton("Dismiss")
        button.clicked.connect(self._dismiss)
        row.addWidget(button)
        self.hide()

    def show_message(self, text: str) -> None:
        self.label.setText(text)
        self.show()

    @Slot()
    def _dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()


class MediaTileDelegate(QStyledItemDelegate):
    """Paints a tile: the protected picture (or the revealed one), badges and the name."""

    def __init__(self, widget: MediaReviewWidget) -> None:
        super().__init__(widget)
        self.widget = widget

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:  # noqa: N802
        return QSize(TILE, TILE + LABEL_H)

    @staticmethod
    def image_rect(rect: QRect) -> QRect:
        """Where the picture goes inside a tile's rectangle."""
        return QRect(rect.x() + 6, rect.y() + 6, rect.width() - 12, rect.height() - LABEL_H - 10)

    @classmethod
    def picture_rect(cls, tile_rect: QRect, picture: QSize) -> QRect:
        """Where a picture of size ``picture`` is drawn in the tile at ``tile_rect``."""
        area = cls.image_rect(tile_rect.adjusted(2, 2, -2, -2))
        scaled = picture.scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect(0, 0, scaled.width(), scaled.height())
        target.moveCenter(area.center())
        return target

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = option.rect.adjusted(2, 2, -2, -2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        info = index.data(InfoRole)
        painter.setPen(QPen(theme_colour("highlight") if selected else theme_colour("border"), 3 if selected else 1))
        painter.setBrush(theme_colour("alt"))
        painter.drawRoundedRect(rect, 6, 6)
        area = self.image_rect(rect)
        painter.fillRect(area, QColor("#4b5563"))
        media_id = index.data(IdRole)
        image: QImage | None
        revealed = media_id is not None and media_id == self.widget.revealed_id and self.widget.revealed_image is not None
        image = self.widget.revealed_image if revealed else index.data(ThumbRole)
        if image is not None and not image.isNull():
            painter.drawImage(self.picture_rect(option.rect, image.size()), image)
            if not revealed and media_id is not None and media_id == self.widget.keyhole_id:
                self._keyhole(painter, option.rect)
        else:
            painter.setPen(QColor("#e5e7eb"))
            text = "…"
            if info is not None:
                text = "▶ VIDEO\n(hashes only)" if info.is_video else (
                    "no preview" if not info.has_thumbnail else "…")
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, text)
        if revealed:
            painter.setPen(QPen(QColor("#f59e0b"), 3))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(area.adjusted(1, 1, -1, -1))
        if info is not None:
            self._badges(painter, area, info)
            painter.setPen(theme_colour("text"))
            name_rect = QRect(rect.x() + 6, area.bottom() + 3, rect.width() - 12, LABEL_H)
            painter.drawText(name_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             option.fontMetrics.elidedText(info.name, Qt.TextElideMode.ElideMiddle, name_rect.width()))
        painter.restore()

    def _keyhole(self, painter: QPainter, tile_rect: QRect) -> None:
        """The clear picture, only inside the keyhole circle around the pointer."""
        clear, centre = self.widget.keyhole_image, self.widget.keyhole_pos
        if clear is None or clear.isNull() or centre is None:
            return
        target = self.picture_rect(tile_rect, clear.size())
        radius = self.widget.keyhole_radius(target)
        circle = QPainterPath()
        circle.addEllipse(centre.toPointF(), radius, radius)
        frame = QPainterPath()
        frame.addRect(target.toRectF())
        painter.save()
        painter.setClipPath(circle.intersected(frame))
        painter.drawImage(target, clear)
        painter.restore()
        painter.save()
        painter.setClipRect(target)
        painter.setPen(QPen(KEYHOLE_COLOUR, 1.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(centre.toPointF(), radius + 1, radius + 1)
        painter.restore()

    def _badges(self, painter: QPainter, area: QRect, info: media.MediaInfo) -> None:
        font = QFont(painter.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        font.setBold(True)
        painter.setFont(font)
        fm = painter.fontMetrics()

        def badge(text: str, at: QPoint, bg: QColor, right: bool = False) -> None:
            w = fm.horizontalAdvance(text) + 10
            r = QRect(at.x() - w if right else at.x(), at.y(), w, fm.height() + 4)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(bg)
            painter.drawRoundedRect(r, 4, 4)
            painter.setPen(QColor("#ffffff"))
            painter.drawText(r, Qt.AlignmentFlag.AlignCenter, text)

        scheme = self.widget.scheme
        if info.category is not None and scheme is not None:
            category = media.category_of(scheme, info.category)
            if not category.unreviewed:
                badge(category.short, area.topLeft() + QPoint(4, 4),
                      QColor("#b91c1c") if category.known_bad else QColor("#1d4ed8"))
        if info.stack_size > 1:
            badge(f"×{info.stack_size}", area.topRight() + QPoint(-4, 4), QColor("#374151"), right=True)
        if info.alert:
            badge("ALERT" if info.alert == "known_bad" else "WATCH", area.bottomLeft() + QPoint(4, -fm.height() - 8),
                  ALERT_COLOUR)
            painter.setPen(QPen(ALERT_COLOUR, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(area)
        if info.known_good:
            badge("known good", area.bottomRight() + QPoint(-4, -fm.height() - 8), QColor("#15803d"), right=True)
        painter.setFont(QFont())


class MediaGridView(QListView):
    """Icon-mode list of tiles with uniform sizes (fast layout for thousands of tiles)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setSpacing(4)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setMouseTracking(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(200)

    def keyboardSearch(self, search: str) -> None:  # noqa: N802 - Qt override
        # Digits categorise; typing must never jump around the grid.
        return


class MediaReviewWidget(QWidget):
    """The review grid of the selected case (see the module doc). Thread: UI."""

    revealed = Signal(int)     # media id shown unprotected
    concealed = Signal(int)    # media id protected again

    def __init__(self, session: Session, parent: QWidget | None = None, *,
                 break_after_seconds: float | None = None, break_after_reveals: int | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.hub = session.hub
        store = app_settings()
        # The app's settings keys media/break_after_seconds and media/break_after_reveals override the defaults.
        seconds: Any = (break_after_seconds if break_after_seconds is not None else
                        store.value("media/break_after_seconds", DEFAULT_BREAK_SECONDS, float))
        reveals: Any = (break_after_reveals if break_after_reveals is not None else
                        store.value("media/break_after_reveals", DEFAULT_BREAK_REVEALS, int))
        self.break_after_seconds = float(seconds)
        self.break_after_reveals = int(reveals)
        self.scheme: CategoryScheme | None = None
        self.revealed_id: int | None = None
        self.revealed_image: QImage | None = None
        self._reveal_request: int | None = None  # id whose reveal is being audited
        self._held: int | None = None            # id under the pressed mouse / held Space
        # Keyhole: the tile it points at (_keyhole_target: audit pending or shown), the one
        # shown (keyhole_id, with its clear picture), where (viewport coordinates), and why
        # it is on ("key": Ctrl held; "hold": a tile held with the Keyhole toggle on).
        self.keyhole_id: int | None = None
        self.keyhole_image: QImage | None = None
        self.keyhole_pos: QPoint | None = None
        self._keyhole_target: int | None = None
        self._keyhole_by: str | None = None
        self._pointer: QPoint | None = None     # last pointer position over the viewport
        fraction: Any = store.value("media/keyhole_fraction", KEYHOLE_FRACTION, float)
        self.keyhole_fraction = min(max(float(fraction), KEYHOLE_LIMITS[0]), KEYHOLE_LIMITS[1])
        self._next_break = (self.break_after_seconds, self.break_after_reveals)
        self.exposure = ExposureCounter(self)
        self.model = MediaGridModel(session, self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.filter_combo = QComboBox()
        self.filter_combo.setMinimumContentsLength(16)
        bar.addWidget(QLabel("Show"))
        bar.addWidget(self.filter_combo)
        self.known_good_check = QCheckBox("Known good")
        self.known_good_check.setToolTip("Also show files that match a known-good hash set")
        bar.addWidget(self.known_good_check)
        self.stack_button = QPushButton("Open stack")
        self.stack_button.setToolTip("Show every file of the current duplicate stack (Enter)")
        self.back_button = QPushButton("Back")
        self.back_button.setToolTip("Back to the whole case (Backspace)")
        bar.addWidget(self.stack_button)
        bar.addWidget(self.back_button)
        self.blur_button = QToolButton()
        self.blur_button.setText("Blur")
        self.blur_button.setCheckable(True)
        self.grey_button = QToolButton()
        self.grey_button.setText("Grey")
        self.grey_button.setCheckable(True)
        for b in (self.blur_button, self.grey_button):
            b.setToolTip("Protect thumbnails (default from Settings)")
            bar.addWidget(b)
        self.keyhole_button = QToolButton()
        self.keyhole_button.setText("Keyhole")
        self.keyhole_button.setCheckable(True)
        self.keyhole_button.setChecked(bool(store.value("media/keyhole_hold", False, bool)))
        self.keyhole_button.setToolTip("Holding a tile shows only a small circle around the pointer unprotected "
                                       "(holding Ctrl over a tile always does); the wheel changes its size")
        bar.addWidget(self.keyhole_button)
        self.alert_button = QPushButton()
        self.alert_button.setFlat(True)
        self.alert_button.setStyleSheet("color: #b91c1c; font-weight: 600;")
        self.alert_button.setToolTip("Show the files that raised hash-set alerts")
        self.alert_button.hide()
        bar.addWidget(self.alert_button)
        bar.addStretch(1)
        self.ingest_button = QToolButton()
        self.ingest_button.setIcon(icon("media"))
        self.ingest_button.setText("Ingest…")
        self.ingest_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.ingest_button.setToolTip("Ingest a folder of seized media into the case (resumable)")
        bar.addWidget(self.ingest_button)
        self.hashset_button = QToolButton()
        self.hashset_button.setText("Hash set…")
        self.hashset_button.setToolTip("Import a known-bad, known-good or alert hash set")
        bar.addWidget(self.hashset_button)
        self.exposure_label = QLabel(self.exposure.text())
        self.exposure_label.setObjectName("mutedLabel")
        self.exposure_label.setToolTip("Pictures revealed in this session, and for how long")
        bar.addWidget(self.exposure_label)
        self.count_label = QLabel()
        self.count_label.setObjectName("mutedLabel")
        bar.addWidget(self.count_label)
        layout.addLayout(bar)

        self.banner = BreakBannerWidget()
        layout.addWidget(self.banner)
        self.view = MediaGridView()
        self.view.setModel(self.model)
        self.delegate = MediaTileDelegate(self)
        self.view.setItemDelegate(self.delegate)
        self.view.setGridSize(QSize(TILE + 8, TILE + LABEL_H + 8))
        layout.addWidget(self.view, 1)
        self.hint_label = QLabel("Hold the mouse on a tile (or hold Space) to reveal it · hold Ctrl over a tile "
                                 "for a keyhole (wheel: size) · digits categorise the stack · arrows move · "
                                 "Enter opens a stack")
        self.hint_label.setObjectName("mutedLabel")
        layout.addWidget(self.hint_label)

        self._hold_timer = QTimer(self)
        self._hold_timer.setSingleShot(True)
        self._hold_timer.setInterval(HOLD_MS)
        self._hold_timer.timeout.connect(self._hold_elapsed)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._update_exposure)
        # Ctrl may be let go while another widget (or application) has the keyboard: look.
        self._keyhole_poll = QTimer(self)
        self._keyhole_poll.setInterval(100)
        self._keyhole_poll.timeout.connect(self._poll_keyhole_key)

        self.view.viewport().installEventFilter(self)
        self.view.installEventFilter(self)
        self.filter_combo.currentIndexChanged.connect(self._filters_changed)
        self.known_good_check.toggled.connect(self._filters_changed)
        self.stack_button.clicked.connect(self.open_stack)
        self.back_button.clicked.connect(self.close_stack)
        self.blur_button.toggled.connect(self._protection_changed)
        self.grey_button.toggled.connect(self._protection_changed)
        self.keyhole_button.toggled.connect(lambda on: app_settings().setValue("media/keyhole_hold", bool(on)))
        self.alert_button.clicked.connect(self.show_alerts)
        self.ingest_button.clicked.connect(self.choose_ingest)
        self.hashset_button.clicked.connect(self.choose_hashset)
        self.exposure.changed.connect(self._update_exposure)
        self.banner.dismissed.connect(self._banner_dismissed)
        self.model.idsLoaded.connect(self._ids_loaded)
        self.view.selectionModel().currentChanged.connect(lambda *_: self._update_buttons())
        self.hub.caseSelected.connect(lambda case_id, _origin: self.set_case(case_id))
        session.settingsChanged.connect(self._settings_changed)
        session.detached.connect(self._on_detached)
        session.attached.connect(lambda: self.set_case(self.hub.case_id))
        session.changed.connect(self._on_changes)
        self._settings_changed(session.settings)
        self._rebuild_filters()
        self._update_buttons()
        if not session.is_locked and self.hub.case_id is not None:
            self.set_case(self.hub.case_id)

    # ------------------------------------------------------------------ case and filters
    def set_case(self, case_id: int | None) -> None:
        """Review case ``case_id`` (None: nothing)."""
        self.conceal()
        if case_id != self.model.query.case_id:
            self.scheme = None
        if case_id is None or self.session.is_locked:
            self.scheme = None
            self.model.clear()
            self._rebuild_filters()
            self._update_alerts(0)
            return
        self.model.set_case(case_id)
        self._refresh_case_facts()

    def _refresh_case_facts(self) -> None:
        """Load the case's category scheme and its count of open alerts (read lane)."""
        case_id = self.model.query.case_id
        if case_id is None or self.session.is_locked:
            return

        def loaded(result: tuple[CategoryScheme, int]) -> None:
            if case_id != self.model.query.case_id:
                return
            self.scheme, alerts = result
            self._rebuild_filters()
            self._update_alerts(alerts)
            self.view.viewport().update()

        self.session.read(lambda ws: (media.case_scheme(ws, case_id),
                                      len(media.list_alerts(ws, case_id, include_acknowledged=False))),
                          loaded, key=(self, "facts"), title="Loading categories")

    def _rebuild_filters(self) -> None:
        current = self.filter_combo.currentData()
        self.filter_combo.blockSignals(True)
        self.filter_combo.clear()
        self.filter_combo.addItem("All files", "all")
        self.filter_combo.addItem("Uncategorised", "uncategorised")
        self.filter_combo.addItem("Alerts", "alerts")
        if self.scheme is not None:
            for c in self.scheme.categories:
                if not c.unreviewed:
                    self.filter_combo.addItem(f"[{c.key}] {c.label}", f"category:{c.code}")
        found = self.filter_combo.findData(current) if current is not None else -1
        self.filter_combo.setCurrentIndex(max(found, 0))
        self.filter_combo.blockSignals(False)

    def set_filter(self, kind: str, code: str | None = None) -> None:
        """Choose a filter: ``all``, ``uncategorised``, ``alerts`` or ``category`` + code."""
        found = self.filter_combo.findData(f"category:{code}" if kind == "category" else kind)
        if found < 0:
            raise ValueError(f"no filter {kind} {code or ''}")
        self.filter_combo.setCurrentIndex(found)

    @Slot()
    def _filters_changed(self) -> None:
        kind, _, code = str(self.filter_combo.currentData() or "all").partition(":")
        self.conceal()
        self.model.set_query(uncategorised=kind == "uncategorised", alerts_only=kind == "alerts",
                             category=code if kind == "category" and code else None,
                             include_known_good=self.known_good_check.isChecked())

    @Slot()
    def show_alerts(self) -> None:
        self.set_filter("alerts")

    @Slot()
    def open_stack(self) -> None:
        """Show the members of the current tile's duplicate stack."""
        media_id = self.current_id()
        if media_id is None or self.model.query.stack_id is not None:
            return
        info = self.current_info()
        if info is not None:
            self._open_stack_of(info)
            return

        def loaded(found: list[media.MediaInfo]) -> None:
            # The tile's values were still loading when Enter was pressed.
            if found and self.current_id() == media_id:
                self._open_stack_of(found[0])

        self.session.read(lambda ws: media.get_media(ws, [media_id]), loaded, title="Opening stack")

    def _open_stack_of(self, info: media.MediaInfo) -> None:
        if info.stack_id is not None:
            self.conceal()
            self.model.set_query(stack_id=info.stack_id)

    @Slot()
    def close_stack(self) -> None:
        if self.model.query.stack_id is not None:
            self.conceal()
            self.model.set_query(stack_id=None)

    def _ids_loaded(self, total: int) -> None:
        shown = "stack" if self.model.query.stack_id is not None else "tiles"
        self.count_label.setText(f"{total:,} {shown}")
        if total and not self.view.currentIndex().isValid():
            self.view.setCurrentIndex(self.model.index(0))
        self._update_buttons()

    def _update_buttons(self) -> None:
        info = self.current_info()
        in_stack = self.model.query.stack_id is not None
        self.stack_button.setVisible(not in_stack)
        self.stack_button.setEnabled(info is not None and info.stack_size > 1)
        self.back_button.setVisible(in_stack)
        has_case = self.model.query.case_id is not None and not self.session.is_locked
        self.ingest_button.setEnabled(has_case)
        self.hashset_button.setEnabled(not self.session.is_locked)

    def _update_alerts(self, count: int) -> None:
        self.alert_button.setText(f"⚠ {count} alert{'s' if count != 1 else ''}")
        self.alert_button.setVisible(count > 0)

    # ------------------------------------------------------------------ protection
    def _settings_changed(self, settings: Any) -> None:
        for button, value in ((self.blur_button, settings.blur_thumbnails),
                              (self.grey_button, settings.greyscale_thumbnails)):
            button.blockSignals(True)
            button.setChecked(bool(value))
            button.blockSignals(False)
        self.model.set_protection(blur=self.blur_button.isChecked(), grey=self.grey_button.isChecked())

    @Slot()
    def _protection_changed(self) -> None:
        blur, grey = self.blur_button.isChecked(), self.grey_button.isChecked()
        self.model.set_protection(blur=blur, grey=grey)
        case_id = self.model.query.case_id
        if case_id is not None and not self.session.is_locked:
            ws = self.session.ws

            def record(_progress: Any, _cancel: Any) -> int:
                # Lowering the protection is a choice worth a line in the audit trail.
                return ws.audit.append_in_new_tx("media.protection", "case", case_id, {"blur": blur, "grey": grey})

            self.session.runner.submit(record, title="Recording protection change", lane="edit", visible=False)

    # ------------------------------------------------------------------ reveal
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.view.viewport():
            if event.type() == QEvent.Type.MouseButtonPress and isinstance(event, QMouseEvent):
                if event.button() == Qt.MouseButton.LeftButton:
                    self._pointer = event.position().toPoint()
                    index = self.view.indexAt(self._pointer)
                    if index.isValid():
                        self.view.setCurrentIndex(index)
                        self._begin_hold(index.data(IdRole))
            elif event.type() == QEvent.Type.MouseButtonRelease and isinstance(event, QMouseEvent):
                if event.button() == Qt.MouseButton.LeftButton:
                    self._end_hold()
            elif event.type() == QEvent.Type.MouseMove and isinstance(event, QMouseEvent):
                self._pointer = event.position().toPoint()
                if self._held is not None and event.buttons() & Qt.MouseButton.LeftButton:
                    index = self.view.indexAt(self._pointer)
                    if not index.isValid() or index.data(IdRole) != self._held:
                        self._end_hold()  # moved off the tile: hide at once
                    elif self._keyhole_by == "hold":
                        self._keyhole_at(self._pointer)
                elif event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                    self._engage_keyhole_key()
                elif self._keyhole_by == "key":
                    self.end_keyhole()
            elif event.type() == QEvent.Type.Wheel and isinstance(event, QWheelEvent):
                if self._keyhole_target is not None:
                    self._resize_keyhole(event.angleDelta().y())
                    return True  # the wheel sizes the keyhole; the grid stays where it is
            elif event.type() == QEvent.Type.Leave:
                self._end_hold()
                self.end_keyhole()
                self._pointer = None
        elif watched is self.view and isinstance(event, QKeyEvent):
            if event.type() == QEvent.Type.KeyPress:
                if event.key() == Qt.Key.Key_Control:
                    if not event.isAutoRepeat():
                        self._engage_keyhole_key()
                    return False
                return self._key_press(event)
            if event.type() == QEvent.Type.KeyRelease and event.key() == Qt.Key.Key_Control:
                if not event.isAutoRepeat() and self._keyhole_by == "key":
                    self.end_keyhole()
                return False
            if event.type() == QEvent.Type.KeyRelease and event.key() == Qt.Key.Key_Space:
                if not event.isAutoRepeat():
                    self._end_hold()
                return True
        elif watched is self.view and event.type() == QEvent.Type.FocusOut:
            self._end_hold()
        return super().eventFilter(watched, event)

    def _key_press(self, event: QKeyEvent) -> bool:
        key = event.key()
        if key == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                media_id = self.current_id()
                if media_id is not None:
                    self._begin_hold(media_id, immediate=True)
            return True
        if key in _DIGITS and not event.modifiers() & (Qt.KeyboardModifier.ControlModifier
                                                        | Qt.KeyboardModifier.AltModifier):
            self.categorise_current(_DIGITS[key])
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.open_stack()
            return True
        if key == Qt.Key.Key_Backspace:
            self.close_stack()
            return True
        if key in (Qt.Key.Key_Right, Qt.Key.Key_Left, Qt.Key.Key_Up, Qt.Key.Key_Down,
                   Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Home, Qt.Key.Key_End):
            self.conceal()
        return False

    def _begin_hold(self, media_id: int | None, *, immediate: bool = False) -> None:
        if media_id is None:
            return
        self.conceal()  # also a Ctrl keyhole: one reveal at a time
        self._held = media_id
        if immediate:
            self._hold_elapsed()
        else:
            self._hold_timer.start()

    def _end_hold(self) -> None:
        self._hold_timer.stop()
        self._held = None
        self.conceal()

    @Slot()
    def _hold_elapsed(self) -> None:
        """The press lasted long enough: audit the reveal, then show the clear picture
        (only through the keyhole when the Keyhole toggle is on)."""
        media_id = self._held
        if media_id is None or self.session.is_locked or self._reveal_request == media_id:
            return
        if self.keyhole_button.isChecked():
            row = self.model.row_of(media_id)
            if row is None:
                return
            rect = self.view.visualRect(self.model.index(row))
            at = self._pointer if self._pointer is not None and rect.contains(self._pointer) else rect.center()
            self.end_keyhole()
            self._keyhole_by = "hold"
            self._keyhole_at(at)
            return
        self._reveal_request = media_id
        ws = self.session.ws
        generation = self.session.generation

        def work(_progress: Any, _cancel: Any) -> bytes | None:
            media.record_reveal(ws, media_id, how="hold")
            return media.get_thumbnail(ws, media_id)

        def done(data: bytes | None) -> None:
            if self._reveal_request == media_id:
                self._reveal_request = None
            if generation != self.session.generation or self._held != media_id or data is None:
                return
            image = decode_clear(data)
            if image.isNull():
                return
            self.revealed_id, self.revealed_image = media_id, image
            self.exposure.start()
            self._tick.start()
            self._repaint(media_id)
            self.revealed.emit(media_id)

        def failed(exc: BaseException, details: str) -> None:
            self._reveal_request = None
            show_error(self, exc, details)

        # The edit lane: the audit entry is written before the pixels can be shown.
        self.session.runner.submit(work, title="Recording reveal", lane="edit", visible=False,
                                   on_done=done, on_error=failed)

    def conceal(self) -> None:
        """Protect the revealed tile again, and close the keyhole (no-op when neither shows)."""
        self.end_keyhole()
        if self.revealed_id is None:
            return
        media_id = self.revealed_id
        self.revealed_id, self.revealed_image = None, None  # drop the clear pixels at once
        self.exposure.stop()
        self._tick.stop()
        self._repaint(media_id)
        self.concealed.emit(media_id)
        self._check_break()

    # ------------------------------------------------------------------ keyhole
    def keyhole_radius(self, picture: QRect) -> float:
        """Radius in pixels of the keyhole over a picture drawn in ``picture``."""
        return max(4.0, self.keyhole_fraction * max(picture.width(), picture.height()) / 2)

    def set_keyhole_fraction(self, fraction: float) -> None:
        """Keyhole diameter as a share of the picture's long side (clamped; remembered)."""
        self.keyhole_fraction = min(max(float(fraction), KEYHOLE_LIMITS[0]), KEYHOLE_LIMITS[1])
        app_settings().setValue("media/keyhole_fraction", self.keyhole_fraction)
        if self.keyhole_id is not None:
            self._repaint(self.keyhole_id)

    def _resize_keyhole(self, wheel_delta: int) -> None:
        if wheel_delta:
            self.set_keyhole_fraction(self.keyhole_fraction * 1.2 ** (wheel_delta / 120))

    def _engage_keyhole_key(self) -> None:
        """Ctrl is held: a keyhole at the pointer when it is on a tile (and no tile is held)."""
        if self._held is not None or self._pointer is None or self.session.is_locked:
            return
        self._keyhole_by = "key"
        self._keyhole_poll.start()
        self._keyhole_at(self._pointer)

    @Slot()
    def _poll_keyhole_key(self) -> None:
        if self._keyhole_by != "key":
            self._keyhole_poll.stop()
        elif not QGuiApplication.queryKeyboardModifiers() & Qt.KeyboardModifier.ControlModifier:
            self.end_keyhole()

    def _keyhole_at(self, pos: QPoint) -> None:
        """Point the keyhole at ``pos``: follow it on the same tile; on another tile end the
        session and start one there (audited before anything is shown)."""
        index = self.view.indexAt(pos)
        info = index.data(InfoRole) if index.isValid() else None
        media_id = index.data(IdRole) if index.isValid() else None
        if media_id is None or (info is not None and not info.has_thumbnail):
            self._close_keyhole_session()  # between tiles, or a video: nothing to look at
            self.keyhole_pos = pos
            return
        if media_id != self._keyhole_target:
            self._close_keyhole_session()
            self.keyhole_pos = pos
            self._open_keyhole_session(media_id)
            return
        old = self.keyhole_pos
        self.keyhole_pos = pos
        if self.keyhole_id == media_id and old != pos:
            self._repaint(media_id)

    def _open_keyhole_session(self, media_id: int) -> None:
        self._keyhole_target = media_id
        ws = self.session.ws
        generation = self.session.generation

        def work(_progress: Any, _cancel: Any) -> bytes | None:
            media.record_reveal(ws, media_id, how="keyhole")
            return media.get_thumbnail(ws, media_id)

        def done(data: bytes | None) -> None:
            if generation != self.session.generation or self._keyhole_target != media_id or data is None:
                return
            image = decode_clear(data)
            if image.isNull():
                return
            self.keyhole_id, self.keyhole_image = media_id, image
            self.exposure.start()
            self._tick.start()
            self._repaint(media_id)
            self.revealed.emit(media_id)

        def failed(exc: BaseException, details: str) -> None:
            if self._keyhole_target == media_id:
                self._keyhole_target = None
            show_error(self, exc, details)

        # The edit lane: the audit entry is written before the pixels can be shown.
        self.session.runner.submit(work, title="Recording keyhole reveal", lane="edit", visible=False,
                                   on_done=done, on_error=failed)

    def _close_keyhole_session(self) -> None:
        """End the reveal session of the tile the keyhole points at (the keyhole stays on)."""
        self._keyhole_target = None
        media_id = self.keyhole_id
        if media_id is None:
            return
        self.keyhole_id, self.keyhole_image = None, None  # drop the clear pixels at once
        self.exposure.stop()
        self._tick.stop()
        self._repaint(media_id)
        self.concealed.emit(media_id)
        self._check_break()

    def end_keyhole(self) -> None:
        """Close the keyhole: everything protected again (no-op when it is not on)."""
        self._keyhole_by = None
        self._keyhole_poll.stop()
        self._close_keyhole_session()
        self.keyhole_pos = None

    def _repaint(self, media_id: int) -> None:
        row = self.model.row_of(media_id)
        if row is not None:
            self.view.update(self.model.index(row))

    # ------------------------------------------------------------------ exposure
    def _update_exposure(self) -> None:
        self.exposure_label.setText(self.exposure.text())
        if self.exposure.revealing:
            self._check_break()

    def _check_break(self) -> None:
        seconds, reveals = self._next_break
        if self.banner.isVisible():
            return
        if self.exposure.total_seconds() >= seconds or self.exposure.reveals >= reveals:
            total = int(self.exposure.total_seconds())
            self.banner.show_message(
                f"You have revealed {self.exposure.reveals} pictures for {total // 60} min {total % 60} s in this "
                "session. Consider a short break away from the screen; your place in the grid is kept.")

    def _banner_dismissed(self) -> None:
        # The next reminder comes after as much exposure again.
        self._next_break = (self.exposure.total_seconds() + self.break_after_seconds,
                            self.exposure.reveals + self.break_after_reveals)

    # ------------------------------------------------------------------ categorising
    def current_id(self) -> int | None:
        index = self.view.currentIndex()
        return index.data(IdRole) if index.isValid() else None

    def current_info(self) -> media.MediaInfo | None:
        index = self.view.currentIndex()
        return index.data(InfoRole) if index.isValid() else None

    def categorise_current(self, key: str) -> None:
        """Apply the scheme's category with digit ``key`` to the current tile's stack,
        then move to the next tile."""
        media_id = self.current_id()
        if media_id is None or self.scheme is None:
            return
        category = self.scheme.by_key(key)
        if category is None:
            return
        self.conceal()
        self.session.mutate(lambda ws: media.categorise(ws, [media_id], category.code),
                            title=f"Categorising as {category.short}")
        row = self.view.currentIndex().row()
        if row + 1 < self.model.rowCount() or self.model.canFetchMore():
            if row + 1 >= self.model.rowCount():
                self.model.fetchMore()
            self.view.setCurrentIndex(self.model.index(row + 1))

    # ------------------------------------------------------------------ ingest / hash sets
    @Slot()
    def choose_ingest(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Ingest seized media")
        if folder:
            self.ingest(folder)

    def ingest(self, path: str) -> None:
        """Ingest ``path`` into the current case as a visible, cancellable task."""
        case_id = self.model.query.case_id
        if case_id is None:
            return

        def work(ws: Workstation, progress: Any, cancel: Any) -> media.MediaIngestResult:
            return media.ingest_media(ws, case_id, path, progress=progress, cancel=cancel)

        def done(result: media.MediaIngestResult) -> None:
            self.session.emit_changes([result.changes])

        self.session.run_task(work, title=f"Ingesting {path}", on_done=done)

    @Slot()
    def choose_hashset(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a hash set")
        if not path:
            return
        labels = {"As the file says (NSRL reference sets: known good; others: known bad)": None,
                  "Known bad (alert and pre-categorise)": "known_bad", "Alert / watch list": "alert",
                  "Known good (hide)": "known_good"}
        choice, ok = QInputDialog.getItem(self, "Hash set", "What kind of list is it?", list(labels), 0, False)
        if ok:
            self.import_hashset(path, labels[choice])

    def import_hashset(self, path: str, kind: str | None) -> None:
        def work(ws: Workstation, progress: Any, cancel: Any) -> media.HashSetImportResult:
            return media.import_hashset(ws, path, kind=kind, progress=progress, cancel=cancel)

        def done(_result: media.HashSetImportResult) -> None:
            self.model.reload()
            self._refresh_case_facts()

        self.session.run_task(work, title=f"Importing hash set {path}", on_done=done)

    # ------------------------------------------------------------------ session events
    def _on_changes(self, ch: Any) -> None:
        if ch.table == "media" and ch.case_id in (None, self.model.query.case_id) and (
                ch.op != "updated" or "alert" in ch.extra):
            self._refresh_case_facts()
        elif ch.table == "case" and ch.case_id == self.model.query.case_id:
            self._refresh_case_facts()  # the scheme may have changed

    def _on_detached(self) -> None:
        self._end_hold()
        self.scheme = None
        self.model.clear()
        self._update_alerts(0)
        self._update_buttons()

    def hideEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        self._end_hold()
        super().hideEvent(event)
