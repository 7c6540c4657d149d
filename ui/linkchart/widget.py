"""The link chart panel: toolbar, chart view and status line, wired to the shared
selection and to the core (``workstation.analysis.graph``) through background tasks.

``LinkChartWidget(session_or_ws_provider, selection_hub, task_runner=None)``:

* ``session_or_ws_provider`` is the app's ``Session`` (its ``ws`` property gives the
  Workstation; its ``attached``/``detached``/``changed`` signals are followed: a lock
  clears the chart, edits refresh what it shows) or any callable returning a Workstation;
* ``selection_hub`` is the shared ``SelectionHub``: selecting nodes publishes their entity
  ids; a selection made elsewhere selects the same nodes here; a new current case clears
  the chart (and builds the case's chart when it is small and the panel is visible);
* ``task_runner``: database reads and layouts run on its ``read`` lane and saves on its
  ``edit`` lane; without one they run inline (tests, scripts).

Everything the toolbar does is also a method (``build_from_case``, ``expand``,
``run_layout``, ``find_path``, ``save_chart``, ``export_png`` …) so tests and other views
drive the chart directly.

Thread: UI thread.
"""

from __future__ import annotations

import traceback
from collections import Counter
from functools import partial
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QProgressBar,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workstation.analysis import graph
from workstation.domain.models import ENTITY_KINDS, LINK_KINDS, Changes
from workstation.errors import Cancelled, UsageError, WorkstationError
from ui.linkchart.export import export_png as _export_png
from ui.linkchart.export import export_svg as _export_svg
from ui.linkchart.scene import SIZINGS, ChartScene
from ui.linkchart.view import ChartView

AUTO_BUILD_LIMIT = 1500   # a case with more entities is charted only when asked
REFRESH_DELAY_MS = 300
LAYOUT_NAMES = {"force": "Force-directed", "hierarchical": "Hierarchical", "circular": "Circular",
                "grouped": "Grouped by case"}
SIZING_NAMES = {"none": "Plain", "size:degree": "Size by links", "size:betweenness": "Size by betweenness",
                "colour:degree": "Colour by links", "colour:betweenness": "Colour by betweenness"}
MULTIPLICITY_NAMES = {"single": "One line per pair", "directed": "One line per direction",
                      "multiple": "Every link"}


class _NeverCancelled:
    def is_set(self) -> bool:
        return False


def _icon(name: str) -> Any:
    try:
        from ui.theme import icon

        return icon(name)
    except Exception:  # noqa: BLE001 - icons are decoration
        from PySide6.QtGui import QIcon

        return QIcon()


class LinkChartWidget(QWidget):
    """The link chart (i2 Analyst's Notebook style) over the shared selection."""

    chartShown = Signal()          # a new chart (built, expanded, reopened) is on screen
    busyChanged = Signal(bool)
    messageChanged = Signal(str)

    def __init__(self, session_or_ws_provider: Any, selection_hub: Any, task_runner: Any = None,
                 parent: QWidget | None = None, *, auto_build: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("LinkChartWidget")
        self._provider = session_or_ws_provider
        self.hub = selection_hub
        self.runner = task_runner
        self.auto_build = auto_build
        self.scene = ChartScene(self)
        self.view = ChartView(self.scene)
        self.case_id: int | None = None
        self.chart_name: str | None = None
        self.co_occurrence = False
        self.cross_case = False
        self.layout_name = "force"
        self.seed = 0
        self.dirty = False
        self._generation = 0
        self._busy = 0
        self._syncing = False
        self._pending_case_build = False
        self._task_ids: set[int] = set()
        self._current_tasks: list[Any] = []
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self.refresh)

        self._build_ui()
        self.scene.selectionSettled.connect(self._publish_selection)
        self.scene.chartChanged.connect(self._chart_changed)
        self.scene.nodesMoved.connect(self._mark_dirty)
        self.view.nodeActivated.connect(lambda e: self.expand([e]))
        self.view.contextRequested.connect(self._context_menu)
        self.view.zoomChanged.connect(lambda z: self.zoom_label.setText(f"{z:.0%}"))
        self.hub.entitiesSelected.connect(self._on_hub_entities)
        self.hub.caseSelected.connect(self._on_hub_case)
        for name, slot in (("attached", self._on_attached), ("detached", self._on_detached),
                           ("changed", self._on_changes)):
            sig = getattr(self._provider, name, None)
            if sig is not None and hasattr(sig, "connect"):
                sig.connect(slot)
        if self.runner is not None and hasattr(self.runner, "taskUpdated"):
            self.runner.taskUpdated.connect(self._task_progress)
        self.case_id = getattr(self.hub, "case_id", None)
        self._update_actions()

    # ================================================================== UI
    def _action(self, text: str, slot: Callable[[], Any], icon: str | None = None, tip: str | None = None,
                shortcut: str | None = None) -> QAction:
        act = QAction(text, self)
        if icon:
            act.setIcon(_icon(icon))
        if tip:
            act.setToolTip(tip)
            act.setStatusTip(tip)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(act)
        act.triggered.connect(lambda _c=False: slot())
        self.actions_by_name[text] = act
        return act

    def _build_ui(self) -> None:
        self.actions_by_name: dict[str, QAction] = {}
        a = self._action
        self.act_case = a("Chart case", lambda: self.build_from_case(), "case", "Chart every entity of the current case")
        self.act_selection = a("Chart selection", self.build_from_selection, "entity",
                               "A new chart of the entities selected in the tables or search")
        self.act_add = a("Add selection", self.add_selection, "add", "Add the selected entities to this chart")
        self.act_expand = a("Expand", lambda: self.expand(), "link",
                            "Add the neighbours of the selected nodes (double-click a node does the same)", "E")
        self.act_cross = QAction("Across cases", self)
        self.act_cross.setCheckable(True)
        self.act_cross.setToolTip("Expanding also brings entities of other cases holding the same identifier")
        self.act_cross.toggled.connect(lambda on: setattr(self, "cross_case", bool(on)))
        self.act_hide = a("Hide", self.hide_selected, None, "Hide the selected nodes (H)", "H")
        self.act_show = a("Show hidden", self.show_hidden, None, "Show every hidden node")
        self.act_remove = a("Remove from chart", self.remove_selected, "delete", "Take the selected nodes off the chart")
        self.act_pin = a("Pin", self.toggle_pin, None, "Pinned nodes keep their place in layouts (P)", "P")
        self.act_group = a("Group…", self.group_selected, None, "Draw a named box around the selected nodes (G)", "G")
        self.act_path = a("Shortest path", lambda: self.find_path(), None,
                          "Highlight the shortest path between the two selected nodes")
        self.act_clear_path = a("Clear highlight", self.clear_path, None, "Remove the path highlight", "Esc")
        self.act_layout = a("Lay out", lambda: self.run_layout(), "refresh", "Lay the chart out again (L)", "L")
        self.act_fit = a("Fit", lambda: self.view.fit(), None, "Show the whole chart (F)", "F")
        self.act_select_all = a("Select all", self.select_all, None, "Select every visible node", "Ctrl+A")
        self.act_neighbours = a("Select neighbours", self.select_neighbours, None, "Add the neighbours to the selection")
        self.act_save = a("Save", lambda: self.save_chart(), "open", "Save this chart with the case", "Ctrl+S")
        self.act_save_as = a("Save as…", lambda: self.save_chart(None, ask=True), None, "Save under a new name")

        bar = QToolBar("Link chart")
        bar.setObjectName("toolbar_linkchart")
        bar.setIconSize(bar.iconSize() * 0.85)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.addAction(self.act_case)
        bar.addAction(self.act_selection)
        bar.addAction(self.act_add)
        bar.addSeparator()
        expand_btn = QToolButton()
        expand_btn.setDefaultAction(self.act_expand)
        expand_btn.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.expand_menu = QMenu(expand_btn)
        self.expand_menu.aboutToShow.connect(self._fill_expand_menu)
        expand_btn.setMenu(self.expand_menu)
        expand_btn.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        bar.addWidget(expand_btn)
        bar.addAction(self.act_cross)
        bar.addAction(self.act_hide)
        bar.addAction(self.act_pin)
        bar.addAction(self.act_group)
        bar.addAction(self.act_path)
        bar.addSeparator()
        self.layout_combo = QComboBox()
        for key, text in LAYOUT_NAMES.items():
            self.layout_combo.addItem(text, key)
        self.layout_combo.setToolTip("Layout")
        self.layout_combo.activated.connect(lambda _i: self.run_layout(self.layout_combo.currentData()))
        bar.addWidget(self.layout_combo)
        bar.addAction(self.act_layout)
        self.act_cooccur = QAction("Shared events", self)
        self.act_cooccur.setCheckable(True)
        self.act_cooccur.setToolTip("Also link entities that take part in the same events (dashed)")
        self.act_cooccur.toggled.connect(self.set_co_occurrence)
        view_btn = QToolButton()
        view_btn.setText("View")
        view_btn.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        view_menu = QMenu(view_btn)
        self.sizing_actions: dict[str, QAction] = {}
        sizing_group = QActionGroup(self)
        for key in SIZINGS:
            act = view_menu.addAction(SIZING_NAMES[key], partial(self.set_sizing, key))
            act.setCheckable(True)
            act.setChecked(key == "none")
            sizing_group.addAction(act)
            self.sizing_actions[key] = act
        view_menu.addSeparator()
        self.multiplicity_actions: dict[str, QAction] = {}
        mult_group = QActionGroup(self)
        for key, text in MULTIPLICITY_NAMES.items():
            act = view_menu.addAction(text, partial(self.set_multiplicity, key))
            act.setCheckable(True)
            act.setChecked(key == "single")
            mult_group.addAction(act)
            self.multiplicity_actions[key] = act
        view_menu.addSeparator()
        view_menu.addAction(self.act_cooccur)
        view_menu.addSeparator()
        view_menu.addAction(self.act_show)
        view_menu.addAction(self.act_clear_path)
        view_menu.addAction(self.act_select_all)
        view_menu.addAction(self.act_neighbours)
        view_btn.setMenu(view_menu)
        bar.addWidget(view_btn)
        file_btn = QToolButton()
        file_btn.setText("Chart")
        file_btn.setIcon(_icon("open"))
        file_btn.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        file_btn.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.file_menu = QMenu(file_btn)
        self.file_menu.aboutToShow.connect(self._fill_file_menu)
        file_btn.setMenu(self.file_menu)
        bar.addWidget(file_btn)
        bar.addAction(self.act_fit)
        self.toolbar = bar

        self.message_label = QLabel()
        self.message_label.setObjectName("mutedLabel")
        self.counts_label = QLabel()
        self.counts_label.setObjectName("mutedLabel")
        self.zoom_label = QLabel("100%")
        self.zoom_label.setObjectName("mutedLabel")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel)
        status = QHBoxLayout()
        status.setContentsMargins(6, 2, 6, 2)
        status.setSpacing(14)
        status.addWidget(self.counts_label)
        status.addWidget(self.message_label, 1)
        status.addWidget(self.progress)
        status.addWidget(self.cancel_button)
        status.addWidget(self.zoom_label)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar)
        layout.addWidget(self.view, 1)
        layout.addLayout(status)

    def _fill_expand_menu(self) -> None:
        m = self.expand_menu
        m.clear()
        m.addAction("All links", lambda: self.expand())
        m.addAction("All links, across cases", lambda: self.expand(cross_case=True))
        if self.co_occurrence:
            m.addAction("Shared events only", lambda: self.expand(link_kinds=["co_occurs"]))
        by_link = m.addMenu("Only links of kind")
        for kind in LINK_KINDS:
            by_link.addAction(kind.replace("_", " "), partial(self.expand, link_kinds=[kind]))
        by_entity = m.addMenu("Only neighbours of kind")
        for kind in ENTITY_KINDS:
            by_entity.addAction(kind.replace("_", " "), partial(self.expand, entity_kinds=[kind]))

    def _fill_file_menu(self) -> None:
        m = self.file_menu
        m.clear()
        m.addAction(self.act_save)
        m.addAction(self.act_save_as)
        open_menu = m.addMenu("Open saved chart")
        try:
            saved = self.list_saved()
        except WorkstationError:
            saved = []
        if not saved:
            open_menu.addAction("(none saved for this case)").setEnabled(False)
        for sc in saved:
            open_menu.addAction(f"{sc.name}  ({sc.nodes} entities)", partial(self.open_chart, sc.name))
        delete_menu = m.addMenu("Delete saved chart")
        delete_menu.setEnabled(bool(saved))
        for sc in saved:
            delete_menu.addAction(sc.name, partial(self.delete_saved, sc.name))
        m.addSeparator()
        export = m.addMenu("Export")
        export.addAction("Picture (PNG)…", lambda: self._ask_export("png"))
        export.addAction("Vector picture (SVG)…", lambda: self._ask_export("svg"))
        export.addAction("GraphML…", lambda: self._ask_export("graphml"))
        export.addAction("i2 Analyst's Notebook (ANX)…", lambda: self._ask_export("anx"))
        m.addSeparator()
        m.addAction(self.act_remove)
        ungroup = m.addMenu("Remove group")
        ungroup.setEnabled(bool(self.scene.groups))
        for name in self.scene.groups:
            ungroup.addAction(name, partial(self.ungroup, name))

    def _context_menu(self, entity_id: int | None, global_pos: QPoint) -> None:
        m = QMenu(self)
        if entity_id is not None:
            m.addAction(self.act_expand)
            m.addAction("Expand across cases", lambda: self.expand(cross_case=True))
            m.addAction(self.act_neighbours)
            m.addSeparator()
            m.addAction(self.act_hide)
            m.addAction("Unpin" if entity_id in self.scene.pinned else "Pin", self.toggle_pin)
            m.addAction(self.act_group)
            if len(self.scene.selected_ids()) == 2:
                m.addAction(self.act_path)
            m.addSeparator()
            m.addAction(self.act_remove)
        else:
            m.addAction(self.act_select_all)
            m.addAction(self.act_fit)
            m.addAction(self.act_show)
            if self.scene.path is not None:
                m.addAction(self.act_clear_path)
        m.popup(global_pos)
        self._menu = m

    # ================================================================== plumbing
    def _ws(self) -> Any:
        """The open Workstation (DatabaseLocked from a Session while locked)."""
        p = self._provider
        if hasattr(p, "ws"):
            return p.ws
        if callable(p) and not hasattr(p, "db"):
            ws = p()
            if ws is None:
                raise UsageError("no database is open")
            return ws
        return p

    def _set_busy(self, on: bool) -> None:
        self._busy = max(0, self._busy + (1 if on else -1))
        busy = self._busy > 0
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy and self.runner is not None)
        if busy:
            self.progress.setRange(0, 0)
        self.busyChanged.emit(busy)
        self._update_actions()

    @property
    def busy(self) -> bool:
        return self._busy > 0

    def message(self, text: str) -> None:
        self.message_label.setText(text)
        self.messageChanged.emit(text)

    def _run(self, title: str, fn: Callable[[Any, Any], Any], on_done: Callable[[Any], None], *,
             lane: str = "read") -> None:
        """Run ``fn(progress, cancel)`` on a worker (inline without a runner); ``on_done``
        receives its result on the UI thread unless the chart was cleared meanwhile."""
        generation = self._generation
        self._set_busy(True)
        self.message(f"{title}…")

        def done(result: Any) -> None:
            self._set_busy(False)
            if generation == self._generation:
                try:
                    on_done(result)
                except WorkstationError as exc:
                    self._failed(exc, "")

        def failed(exc: BaseException, details: str) -> None:
            self._set_busy(False)
            if generation == self._generation:
                self._failed(exc, details)

        def cancelled() -> None:
            self._set_busy(False)
            if generation == self._generation:
                self.message("Cancelled.")

        if self.runner is None:
            try:
                result = fn(lambda _f, _m="": None, _NeverCancelled())
            except Cancelled:
                cancelled()
            except Exception as exc:  # noqa: BLE001 - shown to the officer like a worker failure
                failed(exc, traceback.format_exc())
            else:
                done(result)
            return
        info = self.runner.submit(fn, title=title, lane=lane, visible=False, on_done=done, on_error=failed,
                                  on_cancel=cancelled)
        self._task_ids.add(info.id)
        self._current_tasks.append(info)

    def _failed(self, exc: BaseException, details: str) -> None:
        if isinstance(exc, Cancelled):
            self.message("Cancelled.")
            return
        self.message(str(exc) or type(exc).__name__)
        from ui.errors import show_error

        show_error(self, exc, details or None)

    @Slot(object)
    def _task_progress(self, info: Any) -> None:
        if info.id in self._task_ids and info.fraction is not None:
            self.progress.setRange(0, 100)
            self.progress.setValue(int(info.fraction * 100))
            if info.message:
                self.message(info.message)

    def cancel(self) -> None:
        """Ask the running chart tasks to stop."""
        for info in self._current_tasks:
            info.cancel()
        self._current_tasks = [t for t in self._current_tasks if not getattr(t, "finished", True)]

    def _update_actions(self) -> None:
        has_chart = bool(self.scene.nodes)
        selected = len(self.scene.selected_ids()) if has_chart else 0
        free = not self.busy
        self.act_case.setEnabled(free and self.hub.case_id is not None)
        self.act_selection.setEnabled(free and bool(self.hub.entities))
        self.act_add.setEnabled(free and bool(self.hub.entities))
        for act in (self.act_expand, self.act_hide, self.act_pin, self.act_group, self.act_remove, self.act_neighbours):
            act.setEnabled(free and selected > 0)
        self.act_path.setEnabled(free and selected == 2)
        for act in (self.act_layout, self.act_fit, self.act_save, self.act_save_as, self.act_select_all):
            act.setEnabled(free and has_chart)
        self.act_show.setEnabled(bool(self.scene.hidden))
        self.act_clear_path.setEnabled(self.scene.path is not None)
        n_links = len(self.scene.visible_links()) if has_chart else 0
        hidden = f" · {len(self.scene.hidden)} hidden" if self.scene.hidden else ""
        name = f"{self.chart_name}{' *' if self.dirty else ''} · " if self.chart_name else ""
        self.counts_label.setText(f"{name}{len(self.scene.nodes) - len(self.scene.hidden)} entities · "
                                  f"{n_links} links{hidden}" if has_chart else "")

    def _chart_changed(self) -> None:
        self._update_actions()

    def _mark_dirty(self) -> None:
        self.dirty = True
        self._update_actions()

    # ================================================================== shared selection
    @Slot()
    def _publish_selection(self) -> None:
        self._update_actions()
        if self._syncing:
            return
        self.hub.select_entities(self.scene.selected_ids(), self)

    @Slot(frozenset, object)
    def _on_hub_entities(self, ids: frozenset, origin: object) -> None:
        self._update_actions()
        if origin is self or not self.scene.nodes:
            return
        self._syncing = True
        try:
            self.scene.select_ids(ids)
        finally:
            self._syncing = False
        shown = [e for e in ids if e in self.scene.nodes and e not in self.scene.hidden]
        if 0 < len(shown) <= 5:
            rect = self.scene.items_rect(shown)
            if not self.view.mapToScene(self.view.viewport().rect()).boundingRect().contains(rect):
                self.view.centerOn(rect.center())
        self._update_actions()

    @Slot(object, object)
    def _on_hub_case(self, case_id: int | None, _origin: object) -> None:
        if case_id == self.case_id and self.scene.nodes:
            return
        self.clear()
        self.case_id = case_id
        if case_id is not None and self.auto_build:
            if self.isVisible():
                self.build_from_case(case_id, only_if_small=True)
            else:
                self._pending_case_build = True
        self._update_actions()

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._pending_case_build and self.case_id is not None and not self.scene.nodes:
            self._pending_case_build = False
            self.build_from_case(self.case_id, only_if_small=True)

    # ================================================================== session life
    def _on_attached(self) -> None:
        self._update_actions()

    def _on_detached(self) -> None:
        """Locked: forget everything shown (case data must not stay on screen)."""
        self.clear()
        self.case_id = None

    def _on_changes(self, changes: Changes) -> None:
        if not self.scene.nodes or not isinstance(changes, Changes):
            return
        if changes.table in ("entity", "link", "event") and (
                changes.case_id is None or changes.case_id in self.scene.chart.case_ids):
            self._refresh_timer.start()

    def refresh(self) -> None:
        """Re-read the entities on the chart and the links among them (after edits
        elsewhere); positions, hidden, pins and groups are kept, deleted entities leave."""
        if not self.scene.nodes:
            return
        ws = self._ws()
        ids = list(self.scene.nodes)
        co = self.co_occurrence

        def work(_progress: Any, _cancel: Any) -> graph.ChartData:
            return graph.chart_from_entities(ws, ids, co_occurrence=co)

        self._run("Refreshing the chart", work, self._refreshed)

    def _refreshed(self, data: graph.ChartData) -> None:
        self.scene.replace_data(data)
        self.message("Chart refreshed.")

    # ================================================================== building
    def clear(self) -> None:
        """Empty the chart and drop results of work still running."""
        self._generation += 1
        self.cancel()
        self.scene.clear_chart()
        self.chart_name = None
        self.dirty = False
        self.message("")
        self._update_actions()

    def _show(self, data: graph.ChartData, positions: dict[int, tuple[float, float]], case_id: int | None,
              state: graph.ChartState | None = None) -> None:
        self.scene.set_chart(data, positions, home_case=case_id, state=state)
        self.case_id = case_id
        self.dirty = False
        self._fit_scene_rect()
        if state is not None and state.view is not None:
            x, y, z = state.view
            self.view.set_zoom(z)
            self.view.centerOn(x, y)
        else:
            self.view.fit()
        if self.hub.entities:
            self._on_hub_entities(self.hub.entities, None)
        self._update_actions()
        self.chartShown.emit()

    def _fit_scene_rect(self) -> None:
        rect = self.scene.items_rect()
        if rect.isNull():
            return
        m = max(rect.width(), rect.height(), 2000.0)
        self.scene.setSceneRect(rect.adjusted(-m, -m, m, m))

    def _note_truncated(self, data: graph.ChartData, text: str) -> str:
        return text + (" Some entities were left out (limit reached)." if data.truncated else "")

    def _note_unlinked(self, data: graph.ChartData, text: str) -> str:
        """Say how to connect the loose entities: a chat or a statement gives its senders and
        cardholders as parties of events, not as links, so without "Shared events" they
        stand alone in a grid, which reads as "nobody talked to anyone"."""
        if self.co_occurrence:
            return text
        linked = {i for lk in data.links.values() for i in (lk.src_id, lk.dst_id)}
        loose = sum(1 for i in data.nodes if i not in linked)
        if loose < 2:
            return text
        return (text + f" {loose} have no links: View ▸ Shared events links those that take part in "
                "the same messages or transactions.")

    def build_from_case(self, case_id: int | None = None, *, only_if_small: bool = False) -> None:
        """Chart every entity of ``case_id`` (default: the current case) and lay it out.
        With ``only_if_small``, a case of more than 1,500 entities is not charted; the
        officer is told to build it on purpose."""
        case_id = case_id if case_id is not None else self.hub.case_id
        if case_id is None:
            self.message("Select a case first.")
            return
        ws = self._ws()
        co, alg, seed = self.co_occurrence, self.layout_name, self.seed

        def work(progress: Any, cancel: Any) -> tuple[graph.ChartData, dict[int, tuple[float, float]]] | None:
            if only_if_small and ws.count_entities(case_id) > AUTO_BUILD_LIMIT:
                return None
            data = graph.chart_from_case(ws, case_id, co_occurrence=co)
            return data, graph.compute_layout(data, alg, seed=seed, progress=progress, cancel=cancel)

        def done(result: Any) -> None:
            if result is None:
                self.message("This case is large: press “Chart case” to chart all of it, or chart a selection.")
                return
            data, positions = result
            self._show(data, positions, case_id)
            self.message(self._note_unlinked(data, self._note_truncated(
                data, f"Charted the case: {len(data.nodes)} entities.")))

        self._run("Building the chart", work, done)

    def build_from_entities(self, entity_ids: Iterable[int], *, case_id: int | None = None,
                            title: str = "selection") -> None:
        """A new chart of these entities (a selection or search results) and the links
        among them. The chart belongs to ``case_id`` (default: the current case, else
        the case most of the entities belong to)."""
        ids = [int(e) for e in entity_ids]
        if not ids:
            self.message("Nothing selected to chart.")
            return
        ws = self._ws()
        co, alg, seed = self.co_occurrence, self.layout_name, self.seed
        home = case_id if case_id is not None else self.hub.case_id

        def work(progress: Any, cancel: Any) -> tuple[graph.ChartData, dict[int, tuple[float, float]]]:
            data = graph.chart_from_entities(ws, ids, co_occurrence=co)
            return data, graph.compute_layout(data, alg, seed=seed, progress=progress, cancel=cancel)

        def done(result: Any) -> None:
            data, positions = result
            owner = home
            if owner is None and data.nodes:
                owner = Counter(n.case_id for n in data.nodes.values()).most_common(1)[0][0]
            self._show(data, positions, owner)
            self.message(f"Charted the {title}: {len(data.nodes)} entities.")

        self._run("Building the chart", work, done)

    def build_from_selection(self) -> None:
        self.build_from_entities(sorted(self.hub.entities), title="selection")

    def add_selection(self) -> None:
        self.add_entities(sorted(self.hub.entities))

    def add_entities(self, entity_ids: Iterable[int]) -> None:
        """Add entities (e.g. search results) to the chart next to what they link to; the
        chart's existing nodes do not move."""
        ids = [int(e) for e in entity_ids]
        if not self.scene.nodes:
            self.build_from_entities(ids, title="entities")
            return
        if not ids:
            return
        ws = self._ws()
        chart, positions = self.scene.chart, self.scene.positions()
        co, seed = self.co_occurrence, self.seed
        pinned, hidden = set(self.scene.pinned), set(self.scene.hidden)

        def work(progress: Any, cancel: Any) -> tuple[graph.ChartData, dict[int, tuple[float, float]]]:
            add = graph.chart_additions(ws, chart, ids, co_occurrence=co)
            if not add.nodes:
                return add, {}
            merged = chart.merge(add)
            pos = graph.compute_layout(merged, "force", positions=positions, pinned=pinned, hidden=hidden,
                                       incremental=True, seed=seed, progress=progress, cancel=cancel)
            return add, {e: p for e, p in pos.items() if e in add.nodes}

        self._run("Adding to the chart", work, lambda r: self._added(r[0], r[1], "Added"))

    def _added(self, add: graph.ChartData, positions: dict[int, tuple[float, float]], verb: str) -> None:
        new = self.scene.add_chart(add, positions)
        self.dirty = self.dirty or bool(new)
        self._fit_scene_rect()
        if new:
            rect = self.scene.items_rect(new)
            if not self.view.mapToScene(self.view.viewport().rect()).boundingRect().contains(rect):
                self.view.fit(self.scene.items_rect())
        extra = " (limit reached: not every neighbour was added)" if add.truncated else ""
        self.message(f"{verb} {len(new)} entit{'y' if len(new) == 1 else 'ies'}{extra}."
                     if new else "Nothing new to add.")
        self._update_actions()
        self.chartShown.emit()

    def expand(self, entity_ids: Iterable[int] | None = None, *, link_kinds: Collection[str] | None = None,
               entity_kinds: Collection[str] | None = None, cross_case: bool | None = None,
               limit: int = 500) -> None:
        """Add the neighbours of ``entity_ids`` (default: the selected nodes), filtered by
        link and entity kind, across cases when ``cross_case`` (default: the toolbar's
        “Across cases”). New nodes are placed next to what they link to; existing nodes
        keep their place."""
        seeds = [int(e) for e in (entity_ids if entity_ids is not None else self.scene.selected_ids())]
        if not seeds:
            self.message("Select the nodes to expand.")
            return
        ws = self._ws()
        chart, positions = self.scene.chart, self.scene.positions()
        co, seed = self.co_occurrence, self.seed
        cc = self.cross_case if cross_case is None else cross_case
        pinned, hidden = set(self.scene.pinned), set(self.scene.hidden)

        def work(progress: Any, cancel: Any) -> tuple[graph.ChartData, dict[int, tuple[float, float]]]:
            add = graph.expand(ws, chart, seeds, link_kinds=link_kinds, entity_kinds=entity_kinds, cross_case=cc,
                               co_occurrence=co, limit=limit)
            if not add.nodes and not add.links:
                return add, {}
            merged = chart.merge(add)
            pos = graph.compute_layout(merged, "force", positions=positions, pinned=pinned, hidden=hidden,
                                       incremental=True, seed=seed, progress=progress, cancel=cancel)
            return add, {e: p for e, p in pos.items() if e in add.nodes}

        self._run("Expanding", work, lambda r: self._added(r[0], r[1], "Expanded:"))

    # ================================================================== editing the chart
    def hide_selected(self) -> None:
        self.hide_nodes(self.scene.selected_ids())

    def hide_nodes(self, entity_ids: Iterable[int]) -> None:
        ids = list(entity_ids)
        if ids:
            self.scene.set_hidden(ids, True)
            self._mark_dirty()

    def show_hidden(self) -> None:
        if self.scene.hidden:
            self.scene.show_all()
            self._mark_dirty()

    def set_time_window(self, start_us: int | None, end_us: int | None) -> None:
        """Show only entities active in the timeline's window (None, None: show them again).

        Nodes hidden by the window are remembered apart from nodes the officer hid, so
        clearing the window gives back exactly the chart as it was."""
        previous = getattr(self, "_window_hidden", set())
        if previous:
            self.scene.set_hidden(list(previous), False)
            self._window_hidden = set()
        if start_us is None and end_us is None:
            self._mark_dirty()
            return
        case_id = self.hub.case_id
        if case_id is None:
            return
        from workstation.analysis.graph import entities_active_between

        def apply(active: frozenset[int]) -> None:
            inactive = {e for e in self.scene.nodes if e not in active and e not in self.scene.hidden}
            if inactive:
                self.scene.set_hidden(list(inactive), True)
            self._window_hidden = inactive
            self._mark_dirty()
            self.message(f"Time window: {len(self.scene.nodes) - len(inactive)} of {len(self.scene.nodes)} entities active.")

        self._run("Filtering to the time window",
                  lambda _p, _c: entities_active_between(self._ws(), case_id, start_us, end_us), apply)

    def remove_selected(self) -> None:
        ids = self.scene.selected_ids()
        if ids:
            self.scene.remove_nodes(ids)
            self._mark_dirty()
            self.hub.select_entities((), self)

    def toggle_pin(self) -> None:
        ids = self.scene.selected_ids()
        if not ids:
            return
        pin = not all(e in self.scene.pinned for e in ids)
        self.pin(ids, pin)

    def pin(self, entity_ids: Iterable[int], pinned: bool = True) -> None:
        self.scene.set_pinned(entity_ids, pinned)
        self._mark_dirty()

    def group_selected(self, name: str | None = None) -> None:
        ids = self.scene.selected_ids()
        if not ids:
            self.message("Select the nodes to group.")
            return
        if name is None:
            text, ok = QInputDialog.getText(self, "Group", "Name of the group:", text=f"Group {len(self.scene.groups) + 1}")
            if not ok or not text.strip():
                return
            name = text.strip()
        self.scene.add_group(name, ids)
        self._mark_dirty()

    def ungroup(self, name: str) -> None:
        self.scene.remove_group(name)
        self._mark_dirty()

    def select_all(self) -> None:
        self.scene.select_ids(e for e in self.scene.nodes if e not in self.scene.hidden)
        self._publish_selection()

    def select_neighbours(self) -> None:
        chosen = set(self.scene.selected_ids())
        for link in self.scene.visible_links():
            if link.src_id in chosen or link.dst_id in chosen:
                chosen.update((link.src_id, link.dst_id))
        self.scene.select_ids(chosen)
        self._publish_selection()

    # ================================================================== layout and analysis
    def run_layout(self, algorithm: str | None = None) -> None:
        """Lay the visible chart out (``force``, ``hierarchical`` — rooted at the selected
        nodes —, ``circular`` or ``grouped`` by case); pinned nodes stay."""
        algorithm = algorithm or self.layout_name
        if algorithm not in graph.LAYOUTS:
            raise UsageError(f"layout must be one of {', '.join(graph.LAYOUTS)}")
        self.layout_name = algorithm
        i = self.layout_combo.findData(algorithm)
        if i >= 0:
            self.layout_combo.setCurrentIndex(i)
        if not self.scene.nodes:
            return
        chart, positions = self.scene.chart, self.scene.positions()
        pinned, hidden = set(self.scene.pinned), set(self.scene.hidden)
        roots = self.scene.selected_ids()
        groups = list(self.scene.groups.values())
        seed = self.seed

        def work(progress: Any, cancel: Any) -> dict[int, tuple[float, float]]:
            return graph.compute_layout(chart, algorithm, positions=positions, pinned=pinned, hidden=hidden,
                                        roots=roots, groups=groups, seed=seed, progress=progress, cancel=cancel)

        def done(pos: dict[int, tuple[float, float]]) -> None:
            self.scene.set_positions(pos)
            self._fit_scene_rect()
            self.view.fit()
            self._mark_dirty()
            self.message(f"{LAYOUT_NAMES[algorithm]} layout.")

        self._run("Laying out", work, done)

    def find_path(self, source: int | None = None, target: int | None = None) -> graph.ChartPath | None:
        """Highlight the shortest path between two nodes (default: the two selected)."""
        if source is None or target is None:
            chosen = self.scene.selected_ids()
            if len(chosen) != 2:
                self.message("Select exactly two entities to find the path between them.")
                return None
            source, target = chosen
        path = graph.shortest_path(self.scene.chart, source, target, hidden=self.scene.hidden)
        self.scene.set_path(path)
        if path is None:
            self.message("These two entities are not connected on this chart.")
        else:
            self.message(f"Shortest path: {len(path.hops)} link{'s' if len(path.hops) != 1 else ''}.")
        self._update_actions()
        return path

    def clear_path(self) -> None:
        self.scene.set_path(None)
        self._update_actions()

    def set_sizing(self, sizing: str) -> None:
        """Size or colour nodes by degree or betweenness centrality ("none" resets)."""
        if sizing not in SIZINGS:
            raise UsageError(f"sizing must be one of {', '.join(SIZINGS)}")
        self.sizing_actions[sizing].setChecked(True)
        if sizing == "none" or not self.scene.nodes:
            self.scene.set_centrality({}, "none")
            return
        measure = sizing.split(":", 1)[1]
        chart, hidden, seed = self.scene.chart, set(self.scene.hidden), self.seed

        def work(_progress: Any, _cancel: Any) -> dict[int, float]:
            return graph.centrality(chart, measure, hidden=hidden, seed=seed)

        def done(values: dict[int, float]) -> None:
            self.scene.set_centrality(values, sizing)
            top = sorted(values.items(), key=lambda kv: -kv[1])[:1]
            if top:
                node = self.scene.chart.nodes.get(top[0][0])
                self.message(f"Most central by {measure}: {node.label if node else top[0][0]}.")

        self._run("Measuring centrality", work, done)

    def set_multiplicity(self, mode: str) -> None:
        self.scene.set_multiplicity(mode)
        self.multiplicity_actions[mode].setChecked(True)
        self._mark_dirty()

    def set_co_occurrence(self, on: bool) -> None:
        """Show (or drop) links between entities that share events."""
        on = bool(on)
        if on == self.co_occurrence:
            return
        self.co_occurrence = on
        if self.act_cooccur.isChecked() != on:
            self.act_cooccur.setChecked(on)
        self._mark_dirty()
        self.refresh()

    # ================================================================== saved charts
    def _owner_case(self) -> int:
        case_id = self.case_id if self.case_id is not None else self.hub.case_id
        if case_id is None:
            raise UsageError("select the case this chart belongs to first")
        return case_id

    def chart_state(self) -> graph.ChartState:
        centre = self.view.centre()
        return self.scene.state((centre.x(), centre.y(), self.view.zoom()), self.co_occurrence)

    def save_chart(self, name: str | None = None, *, ask: bool = False) -> None:
        """Save the chart with its case under ``name`` (default: its current name; asks
        when it has none or ``ask``)."""
        if not self.scene.nodes:
            return
        name = name or (None if ask else self.chart_name)
        if name is None:
            text, ok = QInputDialog.getText(self, "Save chart", "Name of the chart:", text=self.chart_name or "Chart")
            if not ok or not text.strip():
                return
            name = text.strip()
        ws = self._ws()
        case_id = self._owner_case()
        state = self.chart_state()

        def work(_progress: Any, _cancel: Any) -> Changes:
            return graph.save_chart(ws, case_id, name, state)

        def done(changes: Changes) -> None:
            self.chart_name = name
            self.case_id = case_id
            self.dirty = False
            self._update_actions()
            emit = getattr(self._provider, "emit_changes", None)
            if callable(emit):
                emit([changes])
            self.message(f"Saved as “{name}”.")

        self._run("Saving the chart", work, done, lane="edit")

    def open_chart(self, name: str, case_id: int | None = None) -> None:
        """Reopen a saved chart exactly as it was saved (entities deleted since are left
        out, and the officer is told how many)."""
        ws = self._ws()
        case_id = case_id if case_id is not None else self._owner_case()

        def work(_progress: Any, _cancel: Any) -> tuple[graph.ChartState, graph.ChartData]:
            state = graph.load_chart(ws, case_id, name)
            data = graph.chart_from_entities(ws, state.positions, co_occurrence=state.co_occurrence)
            return state, data

        def done(result: tuple[graph.ChartState, graph.ChartData]) -> None:
            state, data = result
            self.co_occurrence = state.co_occurrence
            self.act_cooccur.blockSignals(True)
            self.act_cooccur.setChecked(state.co_occurrence)
            self.act_cooccur.blockSignals(False)
            if state.multiplicity in self.multiplicity_actions:
                self.multiplicity_actions[state.multiplicity].setChecked(True)
            self._show(data, dict(state.positions), case_id, state)
            self.chart_name = name
            self.dirty = False
            if state.sizing != "none" and state.sizing in SIZINGS:
                self.set_sizing(state.sizing)
            missing = len(set(state.positions) - set(data.nodes))
            self.message(f"Opened “{name}”." + (f" {missing} entities no longer exist." if missing else ""))
            self._update_actions()

        self._run("Opening the chart", work, done)

    def list_saved(self) -> list[graph.SavedChart]:
        """The saved charts of the chart's case (a short read on the UI thread)."""
        case_id = self.case_id if self.case_id is not None else self.hub.case_id
        if case_id is None:
            return []
        return graph.list_charts(self._ws(), case_id)

    def delete_saved(self, name: str) -> None:
        ws = self._ws()
        case_id = self._owner_case()

        def work(_progress: Any, _cancel: Any) -> Changes:
            return graph.delete_chart(ws, case_id, name)

        def done(_changes: Changes) -> None:
            if self.chart_name == name:
                self.chart_name = None
                self._update_actions()
            self.message(f"Deleted the saved chart “{name}”.")

        self._run("Deleting the saved chart", work, done, lane="edit")

    # ================================================================== export
    def _ask_export(self, fmt: str) -> None:
        filters = {"png": "PNG picture (*.png)", "svg": "SVG picture (*.svg)", "graphml": "GraphML (*.graphml)",
                   "anx": "i2 Analyst's Notebook (*.anx)"}
        default = f"{(self.chart_name or 'link-chart').replace('/', '-')}.{fmt}"
        path, _ = QFileDialog.getSaveFileName(self, "Export the chart", default, filters[fmt])
        if not path:
            return
        try:
            {"png": self.export_png, "svg": self.export_svg, "graphml": self.export_graphml,
             "anx": self.export_anx}[fmt](path)
        except (WorkstationError, OSError) as exc:
            self._failed(exc, "")

    def _audit_export(self, path: Path, fmt: str) -> Path:
        graph.record_chart_export(self._ws(), path, fmt, case_id=self.case_id,
                                  nodes=len(self.scene.nodes) - len(self.scene.hidden),
                                  links=len(self.scene.visible_links()))
        self.message(f"Exported to {path}.")
        return path

    def export_png(self, path: str | Path, *, scale: float = 1.5) -> Path:
        """Write the visible chart as a PNG picture (audited)."""
        return self._audit_export(_export_png(self.scene, path, scale=scale), "png")

    def export_svg(self, path: str | Path) -> Path:
        """Write the visible chart as an SVG picture (audited)."""
        return self._audit_export(_export_svg(self.scene, path, title=self.chart_name or "Link chart"), "svg")

    def export_graphml(self, path: str | Path) -> Path:
        """Write the visible chart as GraphML (audited)."""
        p = Path(path)
        graph.write_graphml(self.scene.chart, p, positions=self.scene.positions(), hidden=self.scene.hidden)
        return self._audit_export(p, "graphml")

    def export_anx(self, path: str | Path) -> Path:
        """Write the visible chart as i2 Analyst's Notebook ANX (audited)."""
        p = Path(path)
        graph.write_anx(self.scene.chart, p, positions=self.scene.positions(), hidden=self.scene.hidden,
                        multiplicity=self.scene.multiplicity)
        return self._audit_export(p, "anx")
