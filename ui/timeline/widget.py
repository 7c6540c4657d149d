"""The timeline view: events of a case on a real time axis, in lanes, with an overview.

What the officer sees and does:

* Lanes by entity (one per party: who did what when), by event kind, or by case (every
  case side by side). Marks are coloured by event kind; the header names the colours.
* Wheel zooms time around the pointer (Shift+wheel scrolls the lanes), drag pans, right-
  drag zooms, "Box zoom" zooms to a dragged span. The overview strip under the plot shows
  the density of the whole scope with a draggable window that drives the detail view and
  follows it.
* Zoomed in (≤ ``POINT_LIMIT`` marks visible) each event is a dot; zoomed out the lanes
  show per-bucket bars (stacked by kind, height on a log scale). Hover says what is under
  the pointer in the chosen time zone; click selects an event and its parties in the
  shared selection (Ctrl+click adds); a click on a bar zooms into it. Selections made
  elsewhere are highlighted here (events ringed; events of selected entities ringed
  lighter; their lanes tinted).
* Shift+drag (or "Select range") marks a time range: ``rangeSelected(start_us, end_us)``
  lets the tables and the link chart filter to it; "Clear range" emits ``(None, None)``.
* Time zone: UTC, this computer, the case's zone, or the display zone from Settings.
* Double-click adds a manual event at that time (or edits the event under the pointer);
  the context menu stars, tags and edits; views (lanes, zone, window, range, filters) are
  saved per case; the view exports as PNG or SVG (audited).

Data: the core reads the scope once into a ``TimelineIndex`` (off the UI thread when a
TaskRunner is available) and each redraw aggregates the visible slice from it, so pan and
zoom stay within a frame at a million events. Event details are read by id on hover.

Thread: UI thread.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from datetime import UTC, timedelta, tzinfo
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QColor, QFont, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QScrollBar,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workstation.analysis import timeline as tl
from workstation.analysis.timeline import (
    POINT_LIMIT,
    LaneLayout,
    TimelineFilter,
    TimelineIndex,
    TimelineView,
)
from workstation.domain.models import Changes, EventInfo
from workstation.domain.service import Workstation
from workstation.errors import DatabaseLocked, NotFound, UsageError, WorkstationError
from workstation.settings import Settings
from ui.errors import show_error
from ui.describe import event_summary
from ui.formatting import TIME_UNKNOWN, event_day, is_day_precision, kind_text
from ui.selection import SelectionHub
from ui.tasks import TaskRunner
from ui.theme import current_theme, icon, theme_colour
from ui.timeline.axis import LaneAxis, ZonedTimeAxis
from ui.timeline.dialogs import SaveViewDialog, TagsDialog, TimelineEventDialog
from ui.timeline.style import kind_colour, kind_swatch

US = 1_000_000
DAY_US = 86_400 * US
MIN_LANE_PX = 22
OVERVIEW_BINS = 480
BAR_PX = 4                 # target width of one bucket bar, in pixels
BAR_MIN, BAR_MAX = 0.14, 0.84  # bar heights, in lanes
CLICK_TOLERANCE_PX = 7
SPAN_HALF_HEIGHT = 0.16     # a day-only event's band, in lane heights either side of its line,
SPAN_HALF_PX = 6            # and at most this many pixels
MAX_CASE_SCOPE = tl.MAX_CASE_LANES
MAX_TINTED_LANES = 24
DETAIL_CACHE = 256
MAX_BATCH_EDIT = 5000      # events starred or unstarred in one step
PATCH_LIMIT = 2000         # more changed events than this: reload instead of patching
LANE_AXIS_PX = 200
ZONE_TEXT = {"utc": "UTC", "local": "This computer", "case": "Case zone", "display": "Display zone"}
LANE_TEXT = {"entity": "By entity", "kind": "By kind", "case": "By case"}


def _is_session(obj: object) -> bool:
    return hasattr(obj, "attached") and hasattr(obj, "detached") and hasattr(obj, "runner") \
        and hasattr(obj, "hub") and hasattr(type(obj), "ws")


class _Backend:
    """Where the widget gets its Workstation and runs its work: a ``Session`` (shared
    lanes, undoable edits, change broadcast), a Workstation, or a callable returning one."""

    def __init__(self, source: object, runner: TaskRunner | None) -> None:
        self.session: Any = cast(Any, source) if _is_session(source) else None
        if self.session is not None:
            self._provider: Callable[[], Workstation | None] = lambda: (
                None if self.session.is_locked else self.session.ws)
        elif isinstance(source, Workstation):
            self._provider = lambda: source
        elif callable(source):
            self._provider = source  # type: ignore[assignment]
        else:
            raise TypeError("TimelineWidget needs a Session, a Workstation or a callable returning one")
        self.runner: TaskRunner | None = runner or (self.session.runner if self.session is not None else None)

    def ws(self) -> Workstation | None:
        try:
            return self._provider()
        except DatabaseLocked:
            return None

    def settings(self) -> Settings:
        ws = self.ws()
        return ws.settings if ws is not None else Settings()


class _Marks(pg.ScatterPlotItem):
    """Dots that leave clicks and hovers to the ViewBox (hit testing is done on the
    index there, identically for dots and bars)."""

    def mouseClickEvent(self, ev: Any) -> None:  # noqa: N802
        ev.ignore()

    def hoverEvent(self, ev: Any) -> None:  # noqa: N802
        return None


class TimelineViewBox(pg.ViewBox):
    """The detail plot's ViewBox: wheel zooms time only, Shift+drag marks a range, box
    zoom acts on time only, clicks and hovers go to the widget."""

    rangeDragged = Signal(float, float, bool)   # x0, x1 (UTC seconds), finished
    clicked = Signal(object)                     # pyqtgraph MouseClickEvent
    hovered = Signal(object)                     # scene QPointF, or None on leaving

    def __init__(self) -> None:
        super().__init__(enableMenu=False)
        self.range_mode = False

    def wheelEvent(self, ev: Any, axis: int | None = None) -> None:  # noqa: N802
        if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            (y0, y1) = self.viewRange()[1]
            step = (y1 - y0) * 0.15 * (-1 if ev.delta() > 0 else 1)
            self.translateBy(y=step)
            ev.accept()
            return
        super().wheelEvent(ev, axis=0)

    def mouseDragEvent(self, ev: Any, axis: int | None = None) -> None:  # noqa: N802
        left = ev.button() == Qt.MouseButton.LeftButton
        if left and (self.range_mode or ev.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            ev.accept()
            a = self.mapSceneToView(ev.buttonDownScenePos(ev.button())).x()
            b = self.mapSceneToView(ev.scenePos()).x()
            self.rangeDragged.emit(min(a, b), max(a, b), ev.isFinish())
            return
        if ev.button() == Qt.MouseButton.RightButton:
            super().mouseDragEvent(ev, axis=0)
            return
        super().mouseDragEvent(ev, axis)

    def showAxRect(self, ax: QRectF, **kwargs: Any) -> None:  # noqa: N802
        # Box zoom is about time; lanes stay where they are.
        self.setXRange(ax.left(), ax.right(), padding=0)

    def mouseClickEvent(self, ev: Any) -> None:  # noqa: N802
        ev.accept()
        self.clicked.emit(ev)

    def hoverEvent(self, ev: Any) -> None:  # noqa: N802
        if ev.isExit():
            self.hovered.emit(None)
        else:
            self.hovered.emit(self.mapToScene(ev.pos()))


class TimelineWidget(QWidget):
    """The timeline over one case (or every case side by side in "By case" lanes).

    ``source`` is the app ``Session`` (preferred: edits become undoable and broadcast,
    work runs in its lanes), a ``Workstation``, or a callable returning the Workstation.
    ``task_runner`` overrides the runner (the Session's is used by default); without one,
    loads and edits run directly on the UI thread (tests, small databases).
    """

    rangeSelected = Signal(object, object)   # start_us, end_us (UTC micros); (None, None) = cleared
    loaded = Signal(int)                     # events in the index after a (re)load
    redrawn = Signal(str)                    # "points" | "buckets" | "empty"
    statusChanged = Signal(str)

    def __init__(self, source: object, selection_hub: SelectionHub | None = None,
                 task_runner: TaskRunner | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = _Backend(source, task_runner)
        hub = selection_hub if selection_hub is not None else getattr(self.backend.session, "hub", None)
        if hub is None:
            raise TypeError("TimelineWidget needs a SelectionHub")
        self.hub: SelectionHub = hub
        self.setObjectName("TimelineWidget")

        self.case_id: int | None = None
        self.index: TimelineIndex | None = None
        self.layout_: LaneLayout | None = None
        self.lane_mode = "entity"
        self.zone_choice = "display"
        self.tz: tzinfo = UTC
        self.filter = TimelineFilter()
        self.mode = "empty"
        self.last_redraw_ms = 0.0
        self.hover_text: str | None = None
        self.active_dialog: QWidget | None = None
        self.range_us: tuple[int, int] | None = None
        self._load_serial = 0
        self._load_task: Any = None
        self._watching_runner = False
        self._pending_view: TimelineView | None = None
        self._sync_region = False
        self._entity_origin_self = False
        self._sel_rows = np.empty(0, np.int64)
        self._rel_rows = np.empty(0, np.int64)
        self._hl_mask: np.ndarray | None = None
        self._details: OrderedDict[int, EventInfo] = OrderedDict()
        self._buckets: tl.BucketCounts | None = None
        # Keyed by kind name: kind numbers differ from one index (case) to the next.
        self._kind_scatter: dict[str, _Marks] = {}
        self._kind_bars: dict[str, pg.BarGraphItem] = {}
        self._lane_tints: list[pg.LinearRegionItem] = []

        self._build_toolbar()
        self._build_plots()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.setSpacing(4)
        outer.addLayout(self.bar)
        plot_row = QHBoxLayout()
        plot_row.setSpacing(0)
        plot_row.addWidget(self.graphics, 1)
        plot_row.addWidget(self.lane_scroll)
        outer.addLayout(plot_row, 1)
        outer.addWidget(self.status_label)

        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(0)
        self._redraw_timer.timeout.connect(self.redraw)

        self.hub.caseSelected.connect(self._on_case_selected)
        self.hub.eventsSelected.connect(self._on_events_selected)
        self.hub.entitiesSelected.connect(self._on_entities_selected)
        time_signal = getattr(self.hub, "timeRangeSelected", None)
        if time_signal is not None:
            time_signal.connect(self._on_hub_time_range)
        session = self.backend.session
        if session is not None:
            session.changed.connect(self._on_changes)
            session.attached.connect(self._on_attached)
            session.detached.connect(self._on_detached)
            session.settingsChanged.connect(lambda _s: self._refresh_zone())
        self._refresh_zone()
        self._set_status("No case selected.")
        if self.hub.case_id is not None:
            self.set_case(self.hub.case_id)

    # ================================================================== building
    def _build_toolbar(self) -> None:
        self.bar = QHBoxLayout()
        self.bar.setSpacing(6)
        self.lane_combo = QComboBox()
        for mode in tl.LANE_MODES:
            self.lane_combo.addItem(LANE_TEXT[mode], mode)
        self.lane_combo.setToolTip("Arrange events in lanes by party, by kind, or by case")
        self.lane_combo.currentIndexChanged.connect(lambda _i: self.set_lane_mode(self.lane_combo.currentData()))
        self.zone_combo = QComboBox()
        for choice in tl.ZONE_CHOICES:
            self.zone_combo.addItem(ZONE_TEXT[choice], choice)
        self.zone_combo.setToolTip("Time zone of the axis, tooltips and new events")
        self.zone_combo.setCurrentIndex(tl.ZONE_CHOICES.index(self.zone_choice))
        self.zone_combo.currentIndexChanged.connect(lambda _i: self.set_zone(self.zone_combo.currentData()))
        self.kinds_button = QToolButton()
        self.kinds_button.setText("Kinds")
        self.kinds_button.setToolTip("Show or hide event kinds")
        self.kinds_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.kinds_menu = QMenu(self.kinds_button)
        self.kinds_button.setMenu(self.kinds_menu)
        self.starred_check = QCheckBox("Starred only")
        self.starred_check.toggled.connect(lambda on: self.set_filter(
            TimelineFilter(self.filter.hidden_kinds, bool(on), self.filter.tag)))
        self.tag_combo = QComboBox()
        self.tag_combo.setToolTip("Show only events with this tag")
        self.tag_combo.addItem("All tags", None)
        self.tag_combo.currentIndexChanged.connect(lambda _i: self.set_filter(
            TimelineFilter(self.filter.hidden_kinds, self.filter.starred_only, self.tag_combo.currentData())))

        def tool(text: str, tip: str, slot: Callable[[], Any], icon_name: str | None = None,
                 checkable: bool = False) -> QToolButton:
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.setCheckable(checkable)
            if icon_name:
                b.setIcon(icon(icon_name))
                b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            b.clicked.connect(lambda _c=False: slot())
            return b

        self.fit_button = tool("Fit", "Show the whole time span", self.fit_all)
        self.zoom_sel_button = tool("Zoom to selection", "Zoom to the selected events", self.zoom_to_selection)
        self.box_button = tool("Box zoom", "Drag a span to zoom into it", self._toggle_box_zoom, checkable=True)
        self.range_button = tool("Select range", "Drag to choose the time range the tables and the link chart show"
                                 " (or Shift+drag)", self._toggle_range_mode, checkable=True)
        self.clear_range_button = tool("Clear range", "Stop filtering by time range", self.clear_range)
        self.clear_range_button.setEnabled(False)
        self.views_button = QToolButton()
        self.views_button.setText("Views")
        self.views_button.setToolTip("Save and restore timeline views of this case")
        self.views_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.views_menu = QMenu(self.views_button)
        self.views_menu.aboutToShow.connect(self._fill_views_menu)
        self.views_button.setMenu(self.views_menu)
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        export_menu = QMenu(self.export_button)
        export_menu.addAction("PNG image…", lambda: self._export_dialog("png"))
        export_menu.addAction("SVG drawing…", lambda: self._export_dialog("svg"))
        self.export_button.setMenu(export_menu)
        self.reload_button = tool("", "Reload the timeline", self.reload, "refresh")
        for w in (QLabel("Lanes"), self.lane_combo, QLabel("Zone"), self.zone_combo, self.kinds_button,
                  self.starred_check, self.tag_combo):
            self.bar.addWidget(w)
        self.bar.addStretch(1)
        for w in (self.fit_button, self.zoom_sel_button, self.box_button, self.range_button,
                  self.clear_range_button, self.views_button, self.export_button, self.reload_button):
            self.bar.addWidget(w)
        self.status_label = QLabel()
        self.status_label.setObjectName("mutedLabel")
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def _build_plots(self) -> None:
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setMinimumHeight(220)
        self.graphics.ci.layout.setContentsMargins(4, 4, 10, 4)
        self.graphics.ci.layout.setVerticalSpacing(2)
        self.header = pg.LabelItem(justify="left")
        self.graphics.addItem(self.header, row=0, col=0)
        self.vb = TimelineViewBox()
        self.time_axis = ZonedTimeAxis()
        self.lane_axis = LaneAxis(LANE_AXIS_PX)
        self.plot = pg.PlotItem(viewBox=self.vb, axisItems={"bottom": self.time_axis, "left": self.lane_axis})
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=True, y=False, alpha=0.18)
        self.graphics.addItem(self.plot, row=1, col=0)
        self.vb.invertY(True)
        self.vb.setMouseEnabled(x=True, y=True)
        self.overview_axis = ZonedTimeAxis()
        self.overview = pg.PlotItem(axisItems={"bottom": self.overview_axis})
        self.overview.hideButtons()
        self.overview.setMenuEnabled(False)
        self.overview.setMouseEnabled(x=False, y=False)
        self.overview.setMaximumHeight(96)
        self.overview.setMinimumHeight(80)
        ov_left = self.overview.getAxis("left")
        ov_left.setWidth(LANE_AXIS_PX)
        ov_left.setStyle(showValues=False, tickLength=0)
        ov_left.enableAutoSIPrefix(False)
        ov_left.setLabel("whole span")
        self.graphics.addItem(self.overview, row=2, col=0)
        self.graphics.ci.layout.setRowStretchFactor(1, 6)
        self.graphics.ci.layout.setRowStretchFactor(2, 1)
        self.density_curve = pg.PlotCurveItem(x=[0.0, 1.0], y=[0.0], stepMode="center", fillLevel=0)
        self.overview.addItem(self.density_curve)
        self.region = pg.LinearRegionItem(orientation="vertical", swapMode="block")
        self.region.setZValue(10)
        self.overview.addItem(self.region)
        self.region.sigRegionChanged.connect(self._region_moved)
        self.vb.sigXRangeChanged.connect(self._view_moved)
        # More lanes than fit: a scroll bar says so (Shift+wheel and dragging scroll too).
        self.lane_scroll: QScrollBar = QScrollBar(Qt.Orientation.Vertical)
        self.lane_scroll.setToolTip("Scroll the lanes (or Shift+wheel over the plot)")
        # Always in the layout (showing and hiding it would resize the plot mid-draw).
        self.lane_scroll.setEnabled(False)
        self.lane_scroll.valueChanged.connect(self._lane_scrolled)
        self.vb.sigYRangeChanged.connect(self._lanes_moved)
        self.vb.sigResized.connect(lambda *_a: self._fit_lanes_height())
        self.vb.rangeDragged.connect(self._range_dragged)
        self.vb.clicked.connect(self._clicked)
        self.vb.hovered.connect(self._hovered)

        self.sel_scatter = _Marks(pxMode=True, size=16, symbol="o", brush=None)
        self.sel_scatter.setZValue(30)
        self.rel_scatter = _Marks(pxMode=True, size=13, symbol="o", brush=None)
        self.rel_scatter.setZValue(25)
        self.hl_bars = pg.BarGraphItem(x0=[], width=[], y0=[], height=[], brush=None)
        self.hl_bars.setZValue(26)
        # Events their source dated only by day (month, year): a band across what they
        # cover, under their dot, so a purchase "on 1 March" shows beside that day's chats
        # whatever hour the view starts at.
        self.span_bars = pg.BarGraphItem(x0=[], width=[], y0=[], height=[], brushes=[], pen=None)
        self.span_bars.setZValue(12)
        self.plot.addItem(self.span_bars)
        # Every other lane shaded, so the eye can follow a lane across the plot.
        self.bands = pg.BarGraphItem(x0=[], width=[], y0=[], height=[], pen=None)
        self.bands.setZValue(-10)
        self.plot.addItem(self.bands, ignoreBounds=True)
        for item in (self.sel_scatter, self.rel_scatter, self.hl_bars):
            self.plot.addItem(item)
        self.range_item: pg.LinearRegionItem | None = None
        self.empty_text = pg.TextItem("", anchor=(0.5, 0.5))
        self.plot.addItem(self.empty_text, ignoreBounds=True)
        self._apply_theme()

    def _apply_theme(self) -> None:
        base, text, muted = theme_colour("base"), theme_colour("text"), theme_colour("muted")
        highlight = theme_colour("highlight")
        self.graphics.setBackground(base)
        for axis in (self.time_axis, self.lane_axis, self.overview_axis, self.overview.getAxis("left")):
            axis.setPen(muted)
            axis.setTextPen(text)
        font = QFont(self.font())
        font.setPointSizeF(max(7.5, font.pointSizeF() * 0.92))
        for axis in (self.time_axis, self.lane_axis, self.overview_axis):
            axis.setTickFont(font)
        dark = current_theme() == "dark"
        fill = QColor(highlight)
        fill.setAlpha(90 if dark else 70)
        self.density_curve.setPen(pg.mkPen(highlight, width=1))
        self.density_curve.setBrush(pg.mkBrush(fill))
        region_fill = QColor(highlight)
        region_fill.setAlpha(40)
        self.region.setBrush(pg.mkBrush(region_fill))
        for line in self.region.lines:
            line.setPen(pg.mkPen(highlight, width=2))
        ring = QColor("#ffd400") if dark else QColor("#111827")
        self.sel_scatter.setPen(pg.mkPen(ring, width=2.6))
        rel = QColor(highlight)
        self.rel_scatter.setPen(pg.mkPen(rel, width=1.6))
        self.hl_bars.setOpts(pen=pg.mkPen(ring, width=1.6), brush=None)
        self.empty_text.setColor(muted)
        band = QColor(text)
        band.setAlpha(14 if dark else 10)
        self.bands.setOpts(brush=pg.mkBrush(band), pen=None)

    # ================================================================== scope and loading
    def set_case(self, case_id: int | None) -> None:
        """Show ``case_id`` (None clears). Loads in the background when a runner exists."""
        changed = case_id != self.case_id
        self.case_id = case_id
        if changed or case_id is None:
            # Never show (or let anyone click) the previous case while the next one loads;
            # its time range filter goes too (announced, so the tables drop it).
            self.clear_range()
            self._clear()
        if case_id is None:
            self._set_status("No case selected.")
            return
        self._refresh_zone()
        self.reload(fit=True)

    def _scope(self, ws: Workstation) -> list[int]:
        if self.case_id is None:
            return []
        if self.lane_mode != "case":
            return [self.case_id]
        cases = ws.list_cases(with_counts=False)
        ids = [c.id for c in cases]
        if self.case_id in ids:
            ids.remove(self.case_id)
        return [self.case_id, *ids[: MAX_CASE_SCOPE - 1]]

    def reload(self, fit: bool = False) -> None:
        """Re-read the scope from the database (keeps the visible window unless ``fit``)."""
        ws = self.backend.ws()
        if ws is None or self.case_id is None:
            return
        self._load_serial += 1
        serial = self._load_serial
        if self._load_task is not None:
            self._load_task.cancel()
            self._load_task = None
        try:
            scope = self._scope(ws)
        except WorkstationError as exc:
            show_error(self, exc)
            return
        self._set_status("Loading timeline…")
        runner = self.backend.runner

        def done(index: TimelineIndex) -> None:
            if serial != self._load_serial or self.backend.ws() is None:
                return
            self._load_task = None
            self._loaded(index, fit)

        def failed(exc: BaseException, details: str) -> None:
            if serial != self._load_serial:
                return
            self._load_task = None
            if isinstance(exc, NotFound):
                self._clear()
                self._set_status(str(exc))
                return
            show_error(self, exc, details)

        if runner is None:
            try:
                index = tl.load_index(ws, scope)
            except WorkstationError as exc:
                failed(exc, "")
                return
            done(index)
            return

        def work(progress: Any, cancel: Any) -> TimelineIndex:
            return tl.load_index(ws, scope, progress=progress, cancel=cancel)

        if not self._watching_runner:
            runner.taskUpdated.connect(self._load_progress)
            self._watching_runner = True
        self._load_task = runner.submit(work, title="Loading timeline", lane="read", visible=False,
                                        on_done=done, on_error=failed)

    @Slot(object)
    def _load_progress(self, task: Any) -> None:
        if task is self._load_task and not task.finished and task.message:
            self._set_status(f"Loading timeline… {task.message}")

    def _loaded(self, index: TimelineIndex, fit: bool) -> None:
        old_range = self.visible_range() if self.index is not None and not fit else None
        self.index = index
        self._details.clear()
        self._fill_kinds_menu()
        self._fill_tags()
        self._relayout()
        extent = self._extent_s()
        self._update_limits()
        pending, self._pending_view = self._pending_view, None
        if pending is not None and pending.start_us is not None and pending.end_us is not None:
            self.set_visible_range(pending.start_us, pending.end_us)
        elif old_range is not None and extent is not None:
            self.set_visible_range(*old_range)
        elif extent is None:
            # Nothing dated yet: show today, so a double-click adds an event at a sane time.
            now = int(time.time()) * US
            self.set_visible_range(now - DAY_US // 2, now + DAY_US // 2)
        else:
            self.fit_all()
        if pending is not None:
            if pending.range_start_us is not None and pending.range_end_us is not None:
                self.set_range(pending.range_start_us, pending.range_end_us)
            else:
                self.clear_range()
        self._update_overview()
        self._recompute_highlight()
        self.redraw()
        self.loaded.emit(len(index))

    def _update_limits(self) -> None:
        """Pan and zoom limits: around the scope's span, generous, never to 1 ms and below."""
        extent = self._extent_s()
        if extent is None:
            return
        lo, hi = extent
        pad = max((hi - lo) * 0.05, 1800.0)
        span = (hi - lo) + 2 * pad
        self.vb.setLimits(xMin=lo - pad * 20, xMax=hi + pad * 20, minXRange=0.002, maxXRange=span * 20)

    def _clear(self) -> None:
        self._load_serial += 1
        if self._load_task is not None:
            self._load_task.cancel()
            self._load_task = None
        self.index = None
        self.layout_ = None
        self._details.clear()
        self._sel_rows = np.empty(0, np.int64)
        self._rel_rows = np.empty(0, np.int64)
        self._hl_mask = None
        self.lane_axis.set_lanes([])
        self.density_curve.setData([0.0, 1.0], [0.0], stepMode="center")
        self._set_range_item(None)
        self.range_us = None
        self.clear_range_button.setEnabled(False)
        self._fill_kinds_menu()
        self._fill_tags()
        self.redraw()

    def _extent_s(self) -> tuple[float, float] | None:
        if self.index is None or self.index.extent is None:
            return None
        a, b = self.index.extent
        return a / US, b / US

    # ================================================================== lanes, filters, zone
    def set_lane_mode(self, mode: str) -> None:
        """Lanes "entity", "kind" or "case" (switching to or from "case" reloads the scope)."""
        if mode not in tl.LANE_MODES:
            raise UsageError(f"lane mode must be one of {', '.join(tl.LANE_MODES)}")
        if mode == self.lane_mode:
            return
        scope_changes = "case" in (mode, self.lane_mode)
        self.lane_mode = mode
        i = self.lane_combo.findData(mode)
        if self.lane_combo.currentIndex() != i:
            self.lane_combo.blockSignals(True)
            self.lane_combo.setCurrentIndex(i)
            self.lane_combo.blockSignals(False)
        if scope_changes and self.index is not None:
            self.reload()
        else:
            self._relayout()
            self.redraw()

    def set_filter(self, flt: TimelineFilter) -> None:
        """Hide kinds, keep starred events only, or only those with one tag."""
        if flt == self.filter:
            return
        self.filter = flt
        self.starred_check.blockSignals(True)
        self.starred_check.setChecked(flt.starred_only)
        self.starred_check.blockSignals(False)
        self.tag_combo.blockSignals(True)
        i = self.tag_combo.findData(flt.tag)
        if i < 0 and flt.tag:
            self.tag_combo.addItem(flt.tag, flt.tag)
            i = self.tag_combo.count() - 1
        self.tag_combo.setCurrentIndex(max(0, i))
        self.tag_combo.blockSignals(False)
        for act in self.kinds_menu.actions():
            if act.data():
                act.blockSignals(True)
                act.setChecked(act.data() not in flt.hidden_kinds)
                act.blockSignals(False)
        self._relayout()
        self._update_overview()
        self.redraw()

    def _relayout(self) -> None:
        if self.index is None:
            self.layout_ = None
            self.lane_axis.set_lanes([])
            return
        self.layout_ = self.index.layout(self.lane_mode, self.filter)
        labels = []
        for lane in self.layout_.lanes:
            labels.append(f"{lane.label} ({kind_text(lane.kind)})" if lane.kind else lane.label)
        self.lane_axis.set_lanes(labels)
        self._fit_lanes_height(reset=True)
        self._recompute_highlight()

    def _fit_lanes_height(self, reset: bool = False) -> None:
        n = len(self.layout_.lanes) if self.layout_ is not None else 0
        n = max(1, n)
        height = max(1.0, self.vb.height())
        fits = max(1, int(height // MIN_LANE_PX))
        shown = min(n, fits)
        self.vb.setLimits(yMin=-0.5, yMax=n - 0.5, maxYRange=n, minYRange=min(n, 2))
        y0, y1 = self.vb.viewRange()[1]
        if reset or abs((y1 - y0) - shown) > 0.01:
            top = -0.5 if reset else max(-0.5, min(y0, n - 0.5 - shown))
            self.vb.setYRange(top, top + shown, padding=0)
        # Range signals may come before the final range is in place: sync once more.
        self._sync_lane_scroll()

    @Slot()
    def _lanes_moved(self, *_a: Any) -> None:
        self._sync_lane_scroll()
        self._redraw_timer.start()

    def _sync_lane_scroll(self) -> None:
        n = len(self.layout_.lanes) if self.layout_ is not None else 0
        y0, y1 = self.vb.viewRange()[1]
        shown = max(1, int(round(y1 - y0)))
        self.lane_scroll.blockSignals(True)
        self.lane_scroll.setRange(0, max(0, n - shown))
        self.lane_scroll.setPageStep(shown)
        self.lane_scroll.setValue(int(round(y0 + 0.5)))
        self.lane_scroll.blockSignals(False)
        self.lane_scroll.setEnabled(n > shown)

    @Slot(int)
    def _lane_scrolled(self, value: int) -> None:
        y0, y1 = self.vb.viewRange()[1]
        self.vb.setYRange(value - 0.5, value - 0.5 + (y1 - y0), padding=0)

    def set_zone(self, choice: str) -> None:
        """Axis, tooltips and new events in "utc", "local", "case" or "display" time."""
        if choice not in tl.ZONE_CHOICES:
            raise UsageError(f"time zone must be one of {', '.join(tl.ZONE_CHOICES)}")
        self.zone_choice = choice
        i = self.zone_combo.findData(choice)
        if self.zone_combo.currentIndex() != i:
            self.zone_combo.blockSignals(True)
            self.zone_combo.setCurrentIndex(i)
            self.zone_combo.blockSignals(False)
        self._refresh_zone()
        self.redraw()

    def _case_timezone(self) -> str | None:
        if self.index is not None and self.case_id in self.index.cases:
            return self.index.cases[self.case_id][2]
        ws = self.backend.ws()
        if ws is None or self.case_id is None:
            return None
        try:
            return ws.get_case(self.case_id).timezone
        except WorkstationError:
            return None

    def _refresh_zone(self) -> None:
        settings = self.backend.settings()
        case_tz = self._case_timezone()
        self.tz = tl.resolve_zone(self.zone_choice, case_timezone=case_tz,
                                  display_timezone=settings.display_timezone)
        names = {
            "utc": "UTC",
            "local": f"This computer ({tl.zone_name(tl.system_zone())})",
            "case": f"Case zone ({case_tz or 'none: UTC'})",
            "display": f"Display zone ({settings.display_timezone or 'UTC'})",
        }
        for i, choice in enumerate(tl.ZONE_CHOICES):
            self.zone_combo.setItemText(i, names[choice])
        self.time_axis.set_zone(self.tz)
        self.overview_axis.set_zone(self.tz)
        self._details.clear()

    # ================================================================== window, overview
    def visible_range(self) -> tuple[int, int]:
        """The visible time window, UTC microseconds."""
        x0, x1 = self.vb.viewRange()[0]
        return int(round(x0 * US)), int(round(x1 * US))

    def set_visible_range(self, start_us: int, end_us: int) -> None:
        if end_us <= start_us:
            raise UsageError("the end of the window must come after its start")
        self.vb.setXRange(start_us / US, end_us / US, padding=0)

    def fit_all(self) -> None:
        """Show the whole span of the scope's events."""
        extent = self._extent_s()
        if extent is None:
            return
        lo, hi = extent
        pad = max((hi - lo) * 0.03, 600.0)
        self.vb.setXRange(lo - pad, hi + pad, padding=0)

    def zoom_to_selection(self) -> None:
        """Zoom to the selected events (or the events of the selected entities, or the range)."""
        if self.index is None:
            return
        rows = self._sel_rows if self._sel_rows.size else self._rel_rows
        if rows.size:
            a, b = int(self.index.ts[rows].min()), int(self.index.ts[rows].max())
        elif self.range_us is not None:
            a, b = self.range_us
        else:
            self._set_status("Nothing selected to zoom to.")
            return
        pad = max((b - a) * 0.08, 5 * 60 * US)
        self.set_visible_range(a - int(pad), b + int(pad))

    @Slot()
    def _view_moved(self, *_a: Any) -> None:
        if not self._sync_region:
            self._sync_region = True
            try:
                x0, x1 = self.vb.viewRange()[0]
                self.region.setRegion((x0, x1))
            finally:
                self._sync_region = False
        self._redraw_timer.start()

    @Slot()
    def _region_moved(self) -> None:
        if self._sync_region:
            return
        self._sync_region = True
        try:
            a, b = self.region.getRegion()
            if b > a:
                self.vb.setXRange(a, b, padding=0)
        finally:
            self._sync_region = False

    def _update_overview(self) -> None:
        extent = self._extent_s()
        if self.index is None or extent is None:
            self.density_curve.setData([0.0, 1.0], [0.0], stepMode="center")
            return
        lo, hi = extent
        pad = max((hi - lo) * 0.03, 600.0)
        a, b = int((lo - pad) * US), int((hi + pad) * US)
        edges, counts = self.index.density(a, b, OVERVIEW_BINS, self.filter)
        self.density_curve.setData(edges / US, np.log10(1.0 + counts.astype(np.float64)), stepMode="center")
        self.overview.setXRange(a / US, b / US, padding=0)
        top = float(np.log10(1.0 + counts.max())) if counts.size else 1.0
        self.overview.setYRange(0, max(top, 0.5) * 1.08, padding=0)

    # ================================================================== drawing
    def redraw(self) -> str:
        """Draw the visible window: dots (≤ POINT_LIMIT marks) or per-bucket bars.
        Returns and records the mode ("points", "buckets" or "empty")."""
        started = time.perf_counter()
        self._redraw_timer.stop()
        lay = self.layout_
        x0, x1 = self.vb.viewRange()[0]
        if lay is None or not len(lay) or x1 <= x0:
            self._hide_points()
            self._hide_bars()
            self.sel_scatter.setData([], [])
            self.rel_scatter.setData([], [])
            self._set_tints([])
            self._show_empty(True)
            self.mode = "empty"
        else:
            self._show_empty(False)
            a, b = lay.window(x0 * US, x1 * US)
            if b - a <= POINT_LIMIT:
                self._draw_points(lay, a, b)
                self.mode = "points"
            else:
                self._draw_buckets(lay, x0, x1)
                self.mode = "buckets"
            self._draw_tints(lay)
        self._draw_bands(x0, x1)
        self._update_header()
        self.last_redraw_ms = (time.perf_counter() - started) * 1000
        self.redrawn.emit(self.mode)
        return self.mode

    def _show_empty(self, empty: bool) -> None:
        if not empty:
            self.empty_text.setText("")
            return
        if self.case_id is None:
            msg = "Select a case to see its timeline."
        elif self.index is None:
            msg = "Loading…"
        elif not len(self.index):
            msg = "This case has no dated events yet. Double-click to add one."
        else:
            msg = "No events match the filters."
        self.empty_text.setText(msg)
        x0, x1 = self.vb.viewRange()[0]
        y0, y1 = self.vb.viewRange()[1]
        self.empty_text.setPos((x0 + x1) / 2, (y0 + y1) / 2)

    def _scatter(self, kind: str) -> _Marks:
        item = self._kind_scatter.get(kind)
        if item is None:
            colour = kind_colour(kind)
            item = _Marks(pxMode=True, size=9, symbol="o", pen=pg.mkPen(colour.darker(150), width=1),
                          brush=pg.mkBrush(colour))
            item.setZValue(20)
            self.plot.addItem(item)
            self._kind_scatter[kind] = item
        return item

    def _bars(self, kind: str) -> pg.BarGraphItem:
        item = self._kind_bars.get(kind)
        if item is None:
            item = pg.BarGraphItem(x0=[], width=[], y0=[], height=[], brush=pg.mkBrush(kind_colour(kind)), pen=None)
            item.setZValue(15)
            self.plot.addItem(item)
            self._kind_bars[kind] = item
        return item

    def _hide_points(self) -> None:
        for item in self._kind_scatter.values():
            if item.isVisible():
                item.setData([], [])
                item.setVisible(False)
        self._draw_spans(None, 0, 0)

    def _draw_spans(self, lay: LaneLayout | None, a: int, b: int) -> None:
        marks = lay.spanning(a, b) if lay is not None else np.empty(0, np.int64)
        if not marks.size:
            if self.span_bars.isVisible():
                self.span_bars.setOpts(x0=[], width=[], y0=[], height=[], brushes=[])
                self.span_bars.setVisible(False)
            return
        assert lay is not None
        names = lay.index.kinds
        brushes = []
        for k in lay.kind[marks].tolist():
            colour = QColor(kind_colour(names[int(k)]))
            colour.setAlpha(110)
            brushes.append(pg.mkBrush(colour))
        start = lay.ts[marks] / US
        # A thin band whatever the lane height, outlined so that two days in a row read as two.
        y0, y1 = self.vb.viewRange()[1]
        half = min(SPAN_HALF_HEIGHT, SPAN_HALF_PX * (y1 - y0) / max(1.0, self.vb.height()))
        pens = [pg.mkPen(b.color().darker(160), width=1) for b in brushes]
        self.span_bars.setOpts(x0=start, width=lay.until[marks] / US - start,
                               y0=lay.lane[marks].astype(np.float64) - half,
                               height=np.full(marks.size, 2 * half), brushes=brushes, pens=pens)
        self.span_bars.setVisible(True)

    def _hide_bars(self) -> None:
        for item in self._kind_bars.values():
            if item.isVisible():
                item.setOpts(x0=[], width=[], y0=[], height=[])
                item.setVisible(False)
        if self.hl_bars.isVisible():
            self.hl_bars.setOpts(x0=[], width=[], y0=[], height=[])
            self.hl_bars.setVisible(False)
        self._buckets = None

    def _draw_points(self, lay: LaneLayout, a: int, b: int) -> None:
        self._hide_bars()
        self._draw_spans(lay, a, b)
        ts = lay.mid[a:b] / US
        lanes = lay.lane[a:b].astype(np.float64)
        kinds = lay.kind[a:b]
        names = lay.index.kinds
        present: set[str] = set()
        for k in (np.unique(kinds).tolist() if b > a else []):
            sel = kinds == k
            item = self._scatter(names[int(k)])
            item.setData(x=ts[sel], y=lanes[sel])
            item.setVisible(True)
            present.add(names[int(k)])
        for k, item in self._kind_scatter.items():
            if k not in present and item.isVisible():
                item.setData([], [])
                item.setVisible(False)
        mask = self._hl_mask
        if mask is not None and b > a:
            rows = lay.rows[a:b]
            sel = np.isin(rows, self._sel_rows) if self._sel_rows.size else np.zeros(b - a, bool)
            rel = mask[rows] & ~sel
            self.sel_scatter.setData(x=ts[sel], y=lanes[sel])
            self.rel_scatter.setData(x=ts[rel], y=lanes[rel])
        else:
            self.sel_scatter.setData([], [])
            self.rel_scatter.setData([], [])

    def _draw_buckets(self, lay: LaneLayout, x0: float, x1: float) -> None:
        self._hide_points()
        self.sel_scatter.setData([], [])
        self.rel_scatter.setData([], [])
        width_px = max(50.0, self.vb.width())
        span_us = (x1 - x0) * US
        bucket = tl.nice_bucket_us(span_us, int(width_px / BAR_PX))
        centre = int((x0 + x1) / 2 * US)
        origin = tl.offset_us(self.tz, centre) * -1 if bucket >= 3_600 * US else 0
        bc = lay.buckets(x0 * US, x1 * US, bucket, origin_us=origin)
        self._buckets = bc
        counts = bc.counts
        totals = counts.sum(axis=2)
        peak = float(totals.max()) if totals.size else 0.0
        if peak <= 0:
            self._hide_bars()
            return
        # Log height with a floor, so a lone event far from the crowd stays visible.
        scale = (BAR_MAX - BAR_MIN) / math.log1p(peak)
        heights = np.where(totals > 0, BAR_MIN + np.log1p(totals) * scale, 0.0)   # (lanes, buckets)
        safe = np.where(totals > 0, totals, 1)
        cum = np.cumsum(counts, axis=2) / safe[:, :, None]       # stack fractions per kind
        width_s = bucket / US
        # Gaps between bars only when they are wide enough not to alias into stripes.
        gap = 0.12 if width_px / max(1, bc.n_buckets) >= 9 else 0.0
        lane_base = np.arange(counts.shape[0], dtype=np.float64)[:, None] + 0.42
        used: set[str] = set()
        for k in range(counts.shape[2]):
            lane_i, bucket_i = np.nonzero(counts[:, :, k])
            if not lane_i.size:
                continue
            name = lay.index.kinds[k]
            used.add(name)
            top = cum[lane_i, bucket_i, k]
            bottom = top - counts[lane_i, bucket_i, k] / safe[lane_i, bucket_i]
            h = heights[lane_i, bucket_i]
            y0 = lane_base[lane_i, 0] - top * h
            item = self._bars(name)
            item.setOpts(x0=(bc.first_us / US) + bucket_i * width_s + width_s * gap / 2,
                         width=np.full(lane_i.size, width_s * (1 - gap)), y0=y0, height=(top - bottom) * h)
            item.setVisible(True)
        for name, item in self._kind_bars.items():
            if name not in used and item.isVisible():
                item.setOpts(x0=[], width=[], y0=[], height=[])
                item.setVisible(False)
        if self._hl_mask is not None:
            hc = lay.buckets(x0 * US, x1 * US, bucket, origin_us=origin, rows_mask=self._hl_mask).counts.sum(axis=2)
            lane_i, bucket_i = np.nonzero(hc)
            if lane_i.size:
                h = BAR_MIN + np.log1p(hc[lane_i, bucket_i]) * scale
                self.hl_bars.setOpts(x0=(bc.first_us / US) + bucket_i * width_s, width=np.full(lane_i.size, width_s),
                                     y0=lane_base[lane_i, 0] - h, height=h)
                self.hl_bars.setVisible(True)
            elif self.hl_bars.isVisible():
                self.hl_bars.setOpts(x0=[], width=[], y0=[], height=[])
                self.hl_bars.setVisible(False)
        elif self.hl_bars.isVisible():
            self.hl_bars.setOpts(x0=[], width=[], y0=[], height=[])
            self.hl_bars.setVisible(False)

    def _draw_bands(self, x0: float, x1: float) -> None:
        n = len(self.layout_.lanes) if self.layout_ is not None else 0
        odd = np.arange(1, n, 2, dtype=np.float64)
        if not odd.size or x1 <= x0:
            self.bands.setOpts(x0=[], width=[], y0=[], height=[])
            return
        span = x1 - x0
        self.bands.setOpts(x0=np.full(odd.size, x0 - span), width=np.full(odd.size, 3 * span), y0=odd - 0.5,
                           height=np.ones(odd.size))

    def _draw_tints(self, lay: LaneLayout) -> None:
        lanes: list[int] = []
        if self.lane_mode == "entity" and self.hub.entities:
            for eid in sorted(self.hub.entities):
                i = lay.lane_index(f"entity:{eid}")
                if i is not None:
                    lanes.append(i)
        self._set_tints(lanes[:MAX_TINTED_LANES])

    def _set_tints(self, lanes: Sequence[int]) -> None:
        colour = QColor(theme_colour("highlight"))
        colour.setAlpha(34)
        while len(self._lane_tints) < len(lanes):
            item = pg.LinearRegionItem(orientation="horizontal", movable=False, brush=pg.mkBrush(colour),
                                       pen=pg.mkPen(None))
            item.setZValue(-5)
            self.plot.addItem(item, ignoreBounds=True)
            self._lane_tints.append(item)
        for i, item in enumerate(self._lane_tints):
            if i < len(lanes):
                item.setRegion((lanes[i] - 0.5, lanes[i] + 0.5))
                item.setVisible(True)
            else:
                item.setVisible(False)

    def _update_header(self) -> None:
        text = theme_colour("text").name()
        muted = theme_colour("muted").name()
        if self.index is None or self.case_id is None:
            self.header.setText(f"<span style='color:{muted}'>Timeline</span>")
            return
        if self.lane_mode == "case":
            number = f"{len(self.index.case_ids)} case{'s' if len(self.index.case_ids) != 1 else ''}"
        else:
            number = self.index.cases.get(self.case_id, ("", "", None))[0]
        a, b = self.visible_range()
        fmt = "%d %b %Y %H:%M"
        span = f"{tl.from_us(a).astimezone(self.tz).strftime(fmt)} – {tl.from_us(b).astimezone(self.tz).strftime(fmt)}"
        zone = f"{tl.zone_name(self.tz, a)} ({tl.format_offset(tl.from_us(a).astimezone(self.tz).utcoffset() or timedelta(0))})"
        if self.mode == "buckets" and self._buckets is not None:
            unit = f" · bars of {tl.bucket_label(self._buckets.bucket_us)}"
        else:
            unit = ""
        counts = self.index.kind_counts()
        legend = " ".join(
            f"<span style='color:{kind_colour(k).name()}'>●</span>&nbsp;{kind_text(k)}"
            for k in self.index.kinds if counts.get(k) and k not in self.filter.hidden_kinds)
        self.header.setText(
            f"<span style='color:{text}'><b>{number}</b> · {span} · {zone}{unit}</span>"
            f"&nbsp;&nbsp;&nbsp;<span style='color:{text}'>{legend}</span>", size="9pt")
        shown = self.layout_.count(a, b) if self.layout_ is not None else 0
        extra = f" · {self.index.undated:,} undated not shown" if self.index.undated else ""
        mode = "dots" if self.mode == "points" else "bars" if self.mode == "buckets" else "nothing"
        lanes = ""
        if self.layout_ is not None and self.lane_scroll.isEnabled():
            y0, y1 = self.vb.viewRange()[1]
            lanes = f" · lanes {max(1, int(round(y0 + 1.5)))}–{min(len(self.layout_.lanes), int(round(y1 + 0.5)))}" \
                    f" of {len(self.layout_.lanes)}"
        self._set_status(f"{len(self.index):,} events in scope · {shown:,} mark{'s' if shown != 1 else ''} in view ({mode}){lanes}{extra}")

    def _set_status(self, text: str) -> None:
        self.status_label.setText(text)
        self.statusChanged.emit(text)

    # ================================================================== hit testing
    def _px_to_s(self) -> float:
        x0, x1 = self.vb.viewRange()[0]
        return (x1 - x0) / max(1.0, self.vb.width())

    def mark_at(self, scene_pos: QPointF) -> int | None:
        """Position (in the current layout) of the mark under ``scene_pos``, points mode."""
        if self.layout_ is None or self.mode != "points":
            return None
        p = self.vb.mapSceneToView(scene_pos)
        lane = int(round(p.y()))
        if lane < 0 or lane >= len(self.layout_.lanes) or abs(p.y() - lane) > 0.45:
            return None
        tol_s = CLICK_TOLERANCE_PX * self._px_to_s()
        return self.layout_.nearest(p.x() * US, lane, tol_s * US)

    def bucket_at(self, scene_pos: QPointF) -> tuple[int, int, int] | None:
        """(lane, bucket start us, count) of the bar under ``scene_pos``, buckets mode."""
        if self.layout_ is None or self.mode != "buckets" or self._buckets is None:
            return None
        p = self.vb.mapSceneToView(scene_pos)
        lane = int(round(p.y()))
        bc = self._buckets
        b = int((p.x() * US - bc.first_us) // bc.bucket_us)
        if not (0 <= lane < bc.counts.shape[0] and 0 <= b < bc.n_buckets):
            return None
        n = int(bc.counts[lane, b].sum())
        return (lane, bc.first_us + b * bc.bucket_us, n) if n else None

    def event_scene_pos(self, event_id: int, lane_key: str | None = None) -> QPointF | None:
        """Scene position of an event's mark (its first lane, or ``lane_key``'s)."""
        if self.layout_ is None or self.index is None:
            return None
        row = self.index.row_of_id(event_id)
        if row is None:
            return None
        a, b = np.searchsorted(self.layout_.rows, [row, row + 1])  # marks are in row order
        marks = np.arange(a, b)
        if not marks.size:
            return None
        pick = int(marks[0])
        if lane_key is not None:
            want = self.layout_.lane_index(lane_key)
            hits = [int(m) for m in marks if int(self.layout_.lane[m]) == want]
            if not hits:
                return None
            pick = hits[0]
        return self.vb.mapViewToScene(QPointF(self.layout_.mid[pick] / US, float(self.layout_.lane[pick])))

    def viewport_pos(self, scene_pos: QPointF) -> QPoint:
        """Widget coordinates in ``graphics.viewport()`` of a scene position (tests)."""
        return self.graphics.mapFromScene(scene_pos)

    # ================================================================== hover and click
    def _event_info(self, event_id: int) -> EventInfo | None:
        if event_id in self._details:
            self._details.move_to_end(event_id)
            return self._details[event_id]
        ws = self.backend.ws()
        if ws is None:
            return None
        try:
            ev = ws.get_event(event_id)
        except WorkstationError:
            return None
        self._details[event_id] = ev
        while len(self._details) > DETAIL_CACHE:
            self._details.popitem(last=False)
        return ev

    def _format_time(self, ts_us: int) -> str:
        local = tl.from_us(ts_us).astimezone(self.tz)
        off = tl.format_offset(local.utcoffset() or timedelta(0))
        return f"{local.strftime('%Y-%m-%d %H:%M:%S')} {tl.zone_name(self.tz, ts_us)} ({off})"

    def tooltip_at(self, scene_pos: QPointF) -> str | None:
        """What the tooltip says at ``scene_pos`` (None over empty space)."""
        if self.index is None or self.layout_ is None:
            return None
        m = self.mark_at(scene_pos)
        if m is not None:
            row = int(self.layout_.rows[m])
            ev = self._event_info(int(self.index.ids[row]))
            if ev is None:
                return None
            return self.event_tooltip(ev)
        hit = self.bucket_at(scene_pos)
        if hit is None:
            return None
        lane, start, n = hit
        assert self._buckets is not None
        end = start + self._buckets.bucket_us
        b = (start - self._buckets.first_us) // self._buckets.bucket_us
        per_kind = self._buckets.counts[lane, b]
        kinds = ", ".join(f"{kind_text(self.index.kinds[k])} {int(c):,}" for k, c in enumerate(per_kind) if c)
        label = self.layout_.lanes[lane].label
        return (f"{n:,} event{'s' if n != 1 else ''} · {label}\n"
                f"{self._format_time(start)} → {tl.from_us(end).astimezone(self.tz).strftime('%Y-%m-%d %H:%M:%S')}\n"
                f"{kinds}\nClick to zoom in")

    def event_tooltip(self, ev: EventInfo) -> str:
        """The hover text of one event: title, kind and time in the chosen zone, the time
        as the source stated it, parties, star and tags."""
        # A poll, a location, a shared contact or an omitted picture has no title of its own.
        title = event_summary(ev.kind, ev.title, (ev.body or "").strip().replace("\n", " ")[:90],
                              ev.properties or {})
        if ev.ts_utc is not None and is_day_precision(ev):
            # The source gave the day only: the mark is a band across that day, and its
            # midnight is no time to correlate with.
            return "\n".join([title, f"{kind_text(ev.kind)} · {event_day(ev)} · {TIME_UNKNOWN}",
                               f"Drawn across the whole day from {self._format_time(ev.ts_utc)}",
                               *self._tooltip_tail(ev)])
        lines = [title, f"{kind_text(ev.kind)} · {self._format_time(ev.ts_utc) if ev.ts_utc is not None else 'no time'}"]
        if ev.ts_utc is not None and ev.utc_offset is not None:
            local_off = (tl.from_us(ev.ts_utc).astimezone(self.tz).utcoffset() or timedelta(0))
            if int(local_off.total_seconds() // 60) != ev.utc_offset and ev.occurred_at is not None:
                lines.append(f"At the source: {ev.occurred_at.strftime('%Y-%m-%d %H:%M:%S')} "
                             f"({tl.format_offset(timedelta(minutes=ev.utc_offset))})")
        return "\n".join([*lines, *self._tooltip_tail(ev)])

    @staticmethod
    def _tooltip_tail(ev: EventInfo) -> list[str]:
        """The tooltip's lines after the time: parties, star and tags."""
        lines = []
        if ev.parties:
            lines.append("Parties: " + ", ".join(f"{p.label} ({p.role})" for p in ev.parties[:6])
                         + (" …" if len(ev.parties) > 6 else ""))
        marks = []
        if tl.is_starred(ev.properties):
            marks.append("★ starred")
        tags = tl.event_tags(ev.properties)
        if tags:
            marks.append("tags: " + ", ".join(tags))
        if marks:
            lines.append(" · ".join(marks))
        return lines

    @Slot(object)
    def _hovered(self, scene_pos: QPointF | None) -> None:
        text = self.tooltip_at(scene_pos) if scene_pos is not None else None
        self.hover_text = text
        self.vb.setToolTip(text or "")

    @Slot(object)
    def _clicked(self, ev: Any) -> None:
        pos = ev.scenePos()
        if ev.button() == Qt.MouseButton.RightButton:
            menu = self.build_context_menu(pos)
            menu.popup(ev.screenPos().toPoint())
            self._context_menu = menu
            return
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        if ev.double():
            self._double_clicked(pos)
            return
        m = self.mark_at(pos)
        additive = bool(ev.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if m is not None and self.layout_ is not None and self.index is not None:
            row = int(self.layout_.rows[m])
            self.select_rows([row], additive=additive)
            return
        hit = self.bucket_at(pos)
        if hit is not None:
            _lane, start, _n = hit
            assert self._buckets is not None
            self.set_visible_range(start, start + self._buckets.bucket_us)
            return
        if not additive:
            self._entity_origin_self = True
            self.hub.select_events([], origin=self)
            self.hub.select_entities([], origin=self)

    def select_rows(self, rows: Sequence[int], additive: bool = False) -> None:
        """Publish the events at ``rows`` and their parties to the shared selection."""
        if self.index is None:
            return
        ids = {int(self.index.ids[r]) for r in rows}
        parties: set[int] = set()
        for r in rows:
            parties.update(self.index.parties_of_row(int(r)))
        if additive:
            # Ctrl+click toggles the events; parties accumulate.
            ids = set(self.hub.events) ^ ids
            parties |= set(self.hub.entities)
        self._entity_origin_self = True
        self.hub.select_events(ids, origin=self)
        self.hub.select_entities(parties, origin=self)

    def _double_clicked(self, pos: QPointF) -> None:
        m = self.mark_at(pos)
        if m is not None and self.layout_ is not None and self.index is not None:
            self.edit_event(int(self.index.ids[int(self.layout_.rows[m])]))
            return
        p = self.vb.mapSceneToView(pos)
        lane = int(round(p.y()))
        self.add_event_at(int(p.x() * US), lane if self.layout_ is not None and 0 <= lane < len(self.layout_.lanes) else None)

    # ================================================================== selection from the hub
    @Slot(object, object)
    def _on_case_selected(self, case_id: int | None, _origin: object) -> None:
        if case_id != self.case_id:
            self.set_case(case_id)

    @Slot(frozenset, object)
    def _on_events_selected(self, ids: frozenset[int], origin: object) -> None:
        self._recompute_highlight()
        if origin is not self and len(ids) == 1 and self.index is not None:
            row = self.index.row_of_id(next(iter(ids)))
            if row is not None:
                t = int(self.index.ts[row])
                a, b = self.visible_range()
                if not a <= t <= b:
                    half = (b - a) // 2
                    self.set_visible_range(t - half, t + half)
        self.redraw()

    @Slot(frozenset, object)
    def _on_entities_selected(self, _ids: frozenset[int], origin: object) -> None:
        self._entity_origin_self = origin is self
        self._recompute_highlight()
        self.redraw()

    def _recompute_highlight(self) -> None:
        if self.index is None:
            self._sel_rows = np.empty(0, np.int64)
            self._rel_rows = np.empty(0, np.int64)
            self._hl_mask = None
            return
        self._sel_rows = self.index.rows_of_ids(self.hub.events) if self.hub.events else np.empty(0, np.int64)
        if self.hub.entities and not self._entity_origin_self:
            self._rel_rows = self.index.rows_of_entities(self.hub.entities)
        else:
            self._rel_rows = np.empty(0, np.int64)
        if self._sel_rows.size or self._rel_rows.size:
            mask = np.zeros(len(self.index), dtype=bool)
            mask[self._sel_rows] = True
            mask[self._rel_rows] = True
            self._hl_mask = mask
        else:
            self._hl_mask = None

    def highlighted_event_ids(self) -> set[int]:
        """Ids of the events drawn highlighted (selected, or of selected entities)."""
        if self.index is None or self._hl_mask is None:
            return set()
        return {int(i) for i in self.index.ids[self._hl_mask]}

    # ================================================================== range filter
    @Slot(float, float, bool)
    def _range_dragged(self, a: float, b: float, finished: bool) -> None:
        if b - a < self._px_to_s() * 3:
            if finished and self.range_item is not None and not self.range_us:
                self._set_range_item(None)
            return
        self._set_range_item((a, b))
        if finished:
            self._range_item_finished()

    def _set_range_item(self, region: tuple[float, float] | None) -> None:
        if region is None:
            if self.range_item is not None:
                self.plot.removeItem(self.range_item)
                self.range_item = None
            return
        if self.range_item is None:
            colour = QColor("#f59e0b")
            colour.setAlpha(46)
            self.range_item = pg.LinearRegionItem(values=region, orientation="vertical", brush=pg.mkBrush(colour),
                                                  pen=pg.mkPen("#d97706", width=2), swapMode="sort")
            self.range_item.setZValue(-2)
            self.plot.addItem(self.range_item, ignoreBounds=True)
            self.range_item.sigRegionChangeFinished.connect(self._range_item_finished)
        else:
            self.range_item.blockSignals(True)
            self.range_item.setRegion(region)
            self.range_item.blockSignals(False)

    @Slot()
    def _range_item_finished(self, *_a: Any) -> None:
        if self.range_item is None:
            return
        a, b = self.range_item.getRegion()
        self._publish_range(int(round(a * US)), int(round(b * US)))

    def set_range(self, start_us: int, end_us: int) -> None:
        """Mark [start, end) as the time range filter and announce it."""
        if end_us <= start_us:
            raise UsageError("the end of the range must come after its start")
        self._set_range_item((start_us / US, end_us / US))
        self._publish_range(int(start_us), int(end_us))

    def clear_range(self) -> None:
        """Remove the range filter (announces ``(None, None)``)."""
        had = self.range_us is not None
        self._set_range_item(None)
        self.range_us = None
        self.clear_range_button.setEnabled(False)
        if had:
            self._tell_hub_range(None, None)
            self.rangeSelected.emit(None, None)

    def _publish_range(self, start_us: int, end_us: int) -> None:
        if self.range_us == (start_us, end_us):
            return
        self.range_us = (start_us, end_us)
        self.clear_range_button.setEnabled(True)
        self._tell_hub_range(start_us, end_us)
        self.rangeSelected.emit(start_us, end_us)

    def _tell_hub_range(self, start_us: int | None, end_us: int | None) -> None:
        select = getattr(self.hub, "select_time_range", None)
        if callable(select):
            select(start_us, end_us, origin=self)

    def _on_hub_time_range(self, start_us: Any, end_us: Any, origin: object = None) -> None:
        if origin is self:
            return
        if start_us is None or end_us is None:
            self._set_range_item(None)
            self.range_us = None
            self.clear_range_button.setEnabled(False)
        else:
            self._set_range_item((start_us / US, end_us / US))
            self.range_us = (int(start_us), int(end_us))
            self.clear_range_button.setEnabled(True)

    def _toggle_range_mode(self) -> None:
        self.vb.range_mode = self.range_button.isChecked()
        if self.vb.range_mode and self.box_button.isChecked():
            self.box_button.setChecked(False)
            self._toggle_box_zoom()

    def _toggle_box_zoom(self) -> None:
        on = self.box_button.isChecked()
        self.vb.setMouseMode(pg.ViewBox.RectMode if on else pg.ViewBox.PanMode)
        if on and self.range_button.isChecked():
            self.range_button.setChecked(False)
            self.vb.range_mode = False

    # ================================================================== menus
    def _fill_kinds_menu(self) -> None:
        self.kinds_menu.clear()
        if self.index is None:
            self.kinds_button.setEnabled(False)
            return
        self.kinds_button.setEnabled(True)
        counts = self.index.kind_counts()
        for k in self.index.kinds:
            act = QAction(kind_swatch(k), f"{kind_text(k)} ({counts.get(k, 0):,})", self.kinds_menu)
            act.setCheckable(True)
            act.setChecked(k not in self.filter.hidden_kinds)
            act.setData(k)
            act.toggled.connect(lambda on, kind=k: self._kind_toggled(kind, on))
            self.kinds_menu.addAction(act)
        self.kinds_menu.addSeparator()
        self.kinds_menu.addAction("Show all kinds", lambda: self.set_filter(
            TimelineFilter(frozenset(), self.filter.starred_only, self.filter.tag)))

    def _kind_toggled(self, kind: str, shown: bool) -> None:
        hidden = set(self.filter.hidden_kinds)
        (hidden.discard if shown else hidden.add)(kind)
        self.set_filter(TimelineFilter(frozenset(hidden), self.filter.starred_only, self.filter.tag))

    def _fill_tags(self) -> None:
        current = self.filter.tag
        self.tag_combo.blockSignals(True)
        self.tag_combo.clear()
        self.tag_combo.addItem("All tags", None)
        for t in self.index.tags_in_use() if self.index is not None else []:
            self.tag_combo.addItem(t, t)
        i = self.tag_combo.findData(current)
        self.tag_combo.setCurrentIndex(max(0, i))
        self.tag_combo.blockSignals(False)

    def build_context_menu(self, scene_pos: QPointF) -> QMenu:
        """The right-click menu at ``scene_pos`` (not shown: the caller pops it up)."""
        menu = QMenu(self)
        p = self.vb.mapSceneToView(scene_pos)
        at_us = int(p.x() * US)
        lane = int(round(p.y()))
        m = self.mark_at(scene_pos)
        if m is not None and self.layout_ is not None and self.index is not None:
            row = int(self.layout_.rows[m])
            eid = int(self.index.ids[row])
            starred = bool(self.index.starred[row])
            menu.addAction(icon("edit"), "Edit event…", lambda: self.edit_event(eid))
            menu.addAction("Unstar" if starred else "Star", lambda: self.set_starred([eid], not starred))
            menu.addAction("Tags…", lambda: self.edit_tags(eid))
            menu.addAction("Select event and parties", lambda: self.select_rows([row]))
            menu.addSeparator()
        sel = sorted(self.hub.events)
        if sel and m is None:
            menu.addAction(f"Star {len(sel):,} selected", lambda: self.set_starred(sel, True))
            menu.addAction(f"Unstar {len(sel):,} selected", lambda: self.set_starred(sel, False))
            menu.addSeparator()
        add = menu.addAction(icon("add_event"), "Add event here…",
                             lambda: self.add_event_at(at_us, lane if self.layout_ is not None
                                                       and 0 <= lane < len(self.layout_.lanes) else None))
        add.setEnabled(self.case_id is not None)
        menu.addAction("Zoom to selection", self.zoom_to_selection)
        menu.addAction("Fit all", self.fit_all)
        if self.range_us is not None:
            menu.addAction("Clear range", self.clear_range)
        menu.addAction("Copy time", lambda: QGuiApplication.clipboard().setText(self._format_time(at_us)))
        return menu

    # ================================================================== edits
    def _run_edit(self, title: str, work: Callable[[Workstation], Any], *,
                  on_done: Callable[[Any], None] | None = None,
                  on_error: Callable[[BaseException, str], None] | None = None,
                  undo: tuple[str, int, dict[str, Any], dict[str, Any]] | None = None,
                  create: Callable[[Workstation, Callable[[str, int], int]], Changes] | None = None) -> None:
        """Run an edit: through the Session's undo stack (``undo``/``create`` given), else
        on the runner's edit lane, else directly. Refreshes the timeline afterwards."""
        session = self.backend.session
        def shown(exc: BaseException, details: str) -> None:
            show_error(self, exc, details)

        fail = on_error or shown
        if session is not None and (undo is not None or create is not None):
            from ui.commands import CreateCommand, UpdateCommand, execute

            if create is not None:
                command: Any = CreateCommand(session, "event", title, create)
            else:
                assert undo is not None
                table, rid, before, after = undo
                command = UpdateCommand(session, table, rid, before, after, title)
            # The Session re-emits the Changes on ``changed``; _on_changes patches the index.
            execute(session, command, on_done=lambda cmd: on_done(cmd) if on_done else None, on_error=fail)
            return
        if session is not None:
            session.mutate(work, title=title, on_done=on_done, on_error=fail)
            return
        ws = self.backend.ws()
        if ws is None:
            fail(DatabaseLocked("the database is locked"), "")
            return
        runner = self.backend.runner

        def finished(result: Any) -> None:
            self._apply_changes(_changes_of(result))
            if on_done is not None:
                on_done(result)

        if runner is not None:
            runner.submit(lambda _p, _c: work(ws), title=title, lane="edit", visible=False,
                          on_done=finished, on_error=fail)
            return
        try:
            result = work(ws)
        except WorkstationError as exc:
            fail(exc, "")
            return
        finished(result)

    def _open_dialog(self, dlg: QWidget) -> None:
        if self.active_dialog is not None:
            self.active_dialog.close()
        self.active_dialog = dlg
        dlg.finished.connect(lambda _r, d=dlg: self._dialog_closed(d))  # type: ignore[attr-defined]
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.open()  # type: ignore[attr-defined]

    def _dialog_closed(self, dlg: QWidget) -> None:
        if self.active_dialog is dlg:
            self.active_dialog = None
        dlg.deleteLater()

    def add_event_at(self, at_us: int, lane: int | None = None) -> TimelineEventDialog | None:
        """Open the form for a manual event at ``at_us``; in entity lanes the lane's entity
        (and the selected entities) are offered as parties, in kind lanes the kind is preset."""
        ws = self.backend.ws()
        if ws is None or self.case_id is None:
            return None
        case_id = self.case_id
        kind = None
        candidates: list[int] = []
        if self.layout_ is not None and lane is not None:
            ln = self.layout_.lanes[lane]
            if ln.key.startswith("kind:"):
                kind = ln.key[5:]
            elif ln.key.startswith("entity:") and ln.record_id is not None:
                candidates.append(ln.record_id)
            elif ln.key.startswith("case:") and ln.record_id is not None:
                case_id = ln.record_id
        candidates += [e for e in sorted(self.hub.entities) if e not in candidates][:12]
        parties = [(e.id, e.label, e.kind) for e in ws.get_entities(candidates) if e.case_id == case_id]
        dlg = TimelineEventDialog(self, self.tz, at_us=at_us, kind=kind or "note", parties=parties)

        def submitted(v: dict[str, Any]) -> None:
            props: dict[str, Any] = tl.with_tags(tl.with_star({}, v["starred"]), v["tags"])

            def create(w: Workstation, resolve: Callable[[str, int], int]) -> Changes:
                return w.add_event(case_id, v["kind"], v["occurred_at"], title=v["title"], body=v["body"],
                                   properties=props, parties=[(resolve("entity", e), r) for e, r in v["parties"]])

            def done(result: Any) -> None:
                dlg.finish()
                created = getattr(result, "created_id", None)
                if created is None and isinstance(result, Changes):
                    created = result.id
                if created is not None:
                    self.hub.select_events([created], origin=None)

            self._run_edit(f"Add {kind_text(v['kind']).lower()}", lambda w: create(w, lambda _t, i: i),
                           create=create, on_done=done, on_error=lambda exc, d: self._dialog_failed(dlg, exc, d))
        dlg.submitted.connect(submitted)
        self._open_dialog(dlg)
        return dlg

    def edit_event(self, event_id: int) -> TimelineEventDialog | None:
        """Open the edit form of one event (kind, time, title, text, star, tags)."""
        ws = self.backend.ws()
        if ws is None:
            return None
        try:
            ev = ws.get_event(event_id)
        except WorkstationError as exc:
            show_error(self, exc)
            return None
        dlg = TimelineEventDialog(self, self.tz, event=ev)

        def submitted(v: dict[str, Any]) -> None:
            props = tl.with_tags(tl.with_star(ev.properties, v["starred"]), v["tags"])
            if v.get("time_known"):
                props.pop("time_precision", None)  # the officer gave the time of day
            before = {"kind": ev.kind, "title": ev.title, "body": ev.body, "properties": dict(ev.properties),
                      "occurred_at": ev.occurred_at}
            after = {"kind": v["kind"], "title": v["title"], "body": v["body"], "properties": props,
                     "occurred_at": v["occurred_at"]}
            if before["occurred_at"] is not None and before["occurred_at"] == after["occurred_at"]:
                before.pop("occurred_at")
                after.pop("occurred_at")
            keys = [k for k in after if before.get(k) != after[k]]
            if not keys:
                dlg.finish()
                return
            b = {k: before.get(k) for k in keys}
            a = {k: after[k] for k in keys}

            def work(w: Workstation) -> Changes:
                fields = dict(a)
                if "occurred_at" in fields:
                    return w.update_event(event_id, occurred_at=fields.pop("occurred_at"), **fields)
                return w.update_event(event_id, **fields)

            self._details.pop(event_id, None)
            self._run_edit(f"Edit event {ev.title or kind_text(ev.kind)}", work, undo=("event", event_id, b, a),
                           on_done=lambda _r: dlg.finish(),
                           on_error=lambda exc, d: self._dialog_failed(dlg, exc, d))
        dlg.submitted.connect(submitted)
        self._open_dialog(dlg)
        return dlg

    def _show_error(self, exc: BaseException, details: str = "") -> None:
        show_error(self, exc, details)

    def _dialog_failed(self, dlg: Any, exc: BaseException, details: str) -> None:
        if isinstance(exc, WorkstationError):
            dlg.fail(str(exc))
        else:
            dlg.fail("")
            show_error(self, exc, details)

    def set_starred(self, event_ids: Iterable[int], starred: bool) -> None:
        """Star or unstar events: one edit (and one undo step with a Session), however many."""
        ids = list(dict.fromkeys(int(i) for i in event_ids))[:MAX_BATCH_EDIT]
        ws = self.backend.ws()
        if ws is None or not ids:
            return
        todo = [ev for ev in ws.get_events(ids, with_parties=False) if tl.is_starred(ev.properties) != starred]
        if not todo:
            return
        for ev in todo:
            self._details.pop(ev.id, None)
        noun = "event" if len(todo) == 1 else f"{len(todo):,} events"
        title = f"{'Star' if starred else 'Unstar'} {noun}"
        session = self.backend.session
        if session is not None:
            from ui.commands import MacroCommand, UpdateCommand, execute

            commands = [UpdateCommand(session, "event", ev.id, {"properties": dict(ev.properties)},
                                      {"properties": tl.with_star(ev.properties, starred)}, title) for ev in todo]
            command = commands[0] if len(commands) == 1 else MacroCommand(session, title, commands)
            execute(session, command, on_error=self._show_error)
            return
        todo_ids = [ev.id for ev in todo]

        def work(w: Workstation) -> list[Changes]:
            return [tl.set_starred(w, eid, starred) for eid in todo_ids]

        self._run_edit(title, work)

    def set_tags(self, event_id: int, tags: Iterable[str] | str,
                 on_done: Callable[[Any], None] | None = None,
                 on_error: Callable[[BaseException, str], None] | None = None) -> None:
        """Replace the tags of one event (BadInput for an unusable tag)."""
        ws = self.backend.ws()
        if ws is None:
            return
        ev = ws.get_event(event_id)
        after = tl.with_tags(ev.properties, tags)
        self._details.pop(event_id, None)
        self._run_edit("Tag event", lambda w: tl.set_tags(w, event_id, tags),
                       undo=("event", event_id, {"properties": dict(ev.properties)}, {"properties": after}),
                       on_done=on_done, on_error=on_error)

    def edit_tags(self, event_id: int) -> TagsDialog | None:
        """Open the tags form of one event."""
        ws = self.backend.ws()
        if ws is None:
            return None
        ev = ws.get_event(event_id)
        known = self.index.tags_in_use() if self.index is not None else []
        dlg = TagsDialog(self, tl.event_tags(ev.properties), known)
        dlg.submitted.connect(lambda v: self.set_tags(
            event_id, v["tags"], on_done=lambda _r: dlg.finish(),
            on_error=lambda exc, d: self._dialog_failed(dlg, exc, d)))
        self._open_dialog(dlg)
        return dlg

    # ================================================================== keeping up with edits
    @Slot(object)
    def _on_changes(self, ch: Changes) -> None:
        self._apply_changes([ch])

    def _apply_changes(self, changes: Sequence[Changes]) -> None:
        if self.index is None:
            return
        scope = set(self.index.case_ids)
        events: list[int] = []
        reload = False
        for ch in changes:
            if ch.case_id is not None and ch.case_id not in scope and ch.table != "case":
                continue
            if ch.table == "event":
                events.extend(ch.ids)
            elif ch.table == "entity" and ch.op == "updated":
                self._refresh_entity_labels(ch.ids)
            elif ch.table == "entity" and ch.op != "created":
                reload = True  # deleted, merged, unmerged: parties moved
            elif ch.table == "case" and (ch.op != "updated" or set(ch.ids) & scope):
                if ch.op == "updated":
                    self._refresh_case_info()
                else:
                    reload = True
            elif ch.table in ("source", "import") or ch.op == "imported":
                reload = True
        if reload or len(events) > PATCH_LIMIT:
            self.reload()
            return
        if not events:
            return
        for eid in events:
            self._details.pop(eid, None)
        ws = self.backend.ws()
        if ws is None:
            return
        case_ids = list(self.index.case_ids)
        serial = self._load_serial
        runner = self.backend.runner

        def apply(patch: tl.IndexPatch) -> None:
            if self.index is None or serial != self._load_serial:
                return
            self.index.apply(patch)
            self._update_limits()
            self._fill_kinds_menu()
            self._fill_tags()
            self._relayout()
            self._update_overview()
            self.redraw()

        if runner is None or len(events) <= 50:
            # A few rows by primary key: well within a frame.
            try:
                apply(tl.read_index_patch(ws, events, case_ids=case_ids))
            except WorkstationError as exc:
                show_error(self, exc)
            return
        runner.submit(lambda _p, _c: tl.read_index_patch(ws, events, case_ids=case_ids), title="Updating timeline",
                      lane="read", visible=False, on_done=apply)

    def _refresh_entity_labels(self, entity_ids: Sequence[int]) -> None:
        ws = self.backend.ws()
        if ws is None or self.index is None:
            return
        known = [e for e in entity_ids if e in self.index.entities]
        if not known:
            return
        for e in ws.get_entities(known):
            self.index.entities[e.id] = (e.kind, e.label)
        self._details.clear()
        if self.lane_mode == "entity":
            self._relayout()
            self.redraw()

    def _refresh_case_info(self) -> None:
        ws = self.backend.ws()
        if ws is None or self.index is None:
            return
        for cid in list(self.index.cases):
            try:
                c = ws.get_case(cid)
            except WorkstationError:
                continue
            self.index.cases[cid] = (c.number, c.title, c.timezone)
        self._refresh_zone()
        if self.lane_mode == "case":
            self._relayout()
        self.redraw()

    @Slot()
    def _on_attached(self) -> None:
        self._refresh_zone()
        if self.hub.case_id is not None:
            self.case_id = self.hub.case_id
            self.reload(fit=self.index is None)

    @Slot()
    def _on_detached(self) -> None:
        """Locked: drop every record shown, close forms."""
        if self.active_dialog is not None:
            self.active_dialog.close()
            self.active_dialog = None
        self._clear()
        self.case_id = None
        self.header.setText("")
        self._set_status("Locked.")

    # ================================================================== saved views
    def current_view(self) -> TimelineView:
        a, b = self.visible_range()
        return TimelineView(
            lane_mode=self.lane_mode, zone=self.zone_choice, start_us=a, end_us=b,
            range_start_us=self.range_us[0] if self.range_us else None,
            range_end_us=self.range_us[1] if self.range_us else None,
            hidden_kinds=tuple(sorted(self.filter.hidden_kinds)), starred_only=self.filter.starred_only,
            tag=self.filter.tag).validated()

    def apply_view(self, view: TimelineView | str) -> None:
        """Restore a view (or the saved view of that name for the current case)."""
        if isinstance(view, str):
            ws = self.backend.ws()
            if ws is None or self.case_id is None:
                return
            try:
                view = tl.load_view(ws, self.case_id, view)
            except WorkstationError as exc:
                show_error(self, exc)
                return
        view = view.validated()
        self.set_zone(view.zone)
        self.set_filter(TimelineFilter(frozenset(view.hidden_kinds), view.starred_only, view.tag))
        reloading = "case" in (view.lane_mode, self.lane_mode) and view.lane_mode != self.lane_mode
        if reloading:
            self._pending_view = view
            self.set_lane_mode(view.lane_mode)
            return
        self.set_lane_mode(view.lane_mode)
        if view.start_us is not None and view.end_us is not None:
            self.set_visible_range(view.start_us, view.end_us)
        if view.range_start_us is not None and view.range_end_us is not None:
            self.set_range(view.range_start_us, view.range_end_us)
        else:
            self.clear_range()
        self.redraw()

    def save_current_view(self, name: str, on_done: Callable[[Any], None] | None = None,
                          on_error: Callable[[BaseException, str], None] | None = None) -> None:
        """Store the current view under ``name`` for the case (replacing that name)."""
        if self.case_id is None:
            return
        case_id, view = self.case_id, self.current_view()
        self._run_edit("Save timeline view", lambda w: tl.save_view(w, case_id, name, view),
                       on_done=on_done, on_error=on_error)

    def _fill_views_menu(self) -> None:
        self.views_menu.clear()
        ws = self.backend.ws()
        names: list[str] = []
        if ws is not None and self.case_id is not None:
            try:
                names = tl.list_views(ws, self.case_id)
            except WorkstationError as exc:
                show_error(self, exc)
        save = self.views_menu.addAction("Save view…", lambda: self.open_save_view_dialog(names))
        save.setEnabled(self.case_id is not None)
        if names:
            self.views_menu.addSeparator()
            for n in names:
                self.views_menu.addAction(n, partial(self.apply_view, n))
            delete = self.views_menu.addMenu("Delete view")
            for n in names:
                delete.addAction(n, partial(self._delete_view, n))

    def open_save_view_dialog(self, existing: Sequence[str] = ()) -> SaveViewDialog:
        dlg = SaveViewDialog(self, existing)
        dlg.submitted.connect(lambda v: self.save_current_view(
            v["name"], on_done=lambda _r: dlg.finish(), on_error=lambda exc, d: self._dialog_failed(dlg, exc, d)))
        self._open_dialog(dlg)
        return dlg

    def _delete_view(self, name: str) -> None:
        if self.case_id is None:
            return
        case_id = self.case_id
        self._run_edit("Delete timeline view", lambda w: tl.delete_view(w, case_id, name))

    # ================================================================== export
    def _export_dialog(self, fmt: str) -> None:
        number = self.index.cases.get(self.case_id, ("timeline", "", None))[0] if self.index and self.case_id else "timeline"
        path, _f = QFileDialog.getSaveFileName(self, "Export timeline", f"{number}-timeline.{fmt}",
                                               "PNG image (*.png)" if fmt == "png" else "SVG drawing (*.svg)")
        if path:
            try:
                self.export_image(path)
            except (OSError, WorkstationError) as exc:
                show_error(self, exc)

    def export_image(self, path: str | Path) -> Path:
        """Write the timeline (header, lanes, overview) as PNG or SVG by the file's
        extension; the export is recorded in the audit trail with its SHA-256."""
        from pyqtgraph.exporters import ImageExporter

        target = Path(path)
        fmt = target.suffix.lower().lstrip(".")
        if fmt not in ("png", "svg"):
            raise UsageError(f"{target.name}: export as .png or .svg")
        self.redraw()
        QGuiApplication.processEvents()
        if fmt == "png":
            exporter = ImageExporter(self.graphics.ci)
            exporter.parameters()["width"] = int(max(1200, self.graphics.ci.boundingRect().width() * 2))
            exporter.parameters()["background"] = theme_colour("base")
            exporter.export(str(target))
        else:
            # pyqtgraph's SVGExporter rewrites Qt's path data and fails on what Qt 6.8+
            # writes; Qt's own SVG generator renders the scene faithfully.
            self._write_svg(target)
        if not target.exists() or target.stat().st_size == 0:
            raise OSError(f"{target}: the export was not written")
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        ws = self.backend.ws()
        if ws is not None:
            a, b = self.visible_range()
            ws.record_export("timeline.export", str(target), digest, {
                "format": fmt, "case_id": self.case_id, "start_us": a, "end_us": b, "lanes": self.lane_mode})
        return target

    def _write_svg(self, target: Path) -> None:
        from PySide6.QtGui import QPainter
        from PySide6.QtSvg import QSvgGenerator

        source = self.graphics.ci.sceneBoundingRect()
        gen = QSvgGenerator()
        gen.setFileName(str(target))
        gen.setSize(source.size().toSize())
        gen.setViewBox(QRectF(0, 0, source.width(), source.height()))
        gen.setTitle("Timeline")
        gen.setDescription(self.status_label.text())
        painter = QPainter()
        if not painter.begin(gen):
            raise OSError(f"{target}: cannot write the SVG file")
        try:
            painter.fillRect(QRectF(0, 0, source.width(), source.height()), theme_colour("base"))
            self.graphics.scene().render(painter, QRectF(0, 0, source.width(), source.height()), source)
        finally:
            painter.end()

    # ================================================================== teardown
    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        # The app switched between the light and the dark theme.
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "bands"):
            self._apply_theme()
            self.redraw()
        super().changeEvent(event)

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        self._clear()
        super().closeEvent(event)


def _changes_of(result: Any) -> list[Changes]:
    if isinstance(result, Changes):
        return [result]
    if isinstance(result, (list, tuple)):
        return [c for c in result if isinstance(c, Changes)]
    return []


