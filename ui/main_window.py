"""The main window: docks around a central tab area, menus, toolbar, shortcuts, lock.

Layout: the case navigator and the entity table on the left, the event table in the
centre with the timeline, link chart and media review as further tabs (created when first
opened from the View menu, reopened at the next start), details (with the record's sync
state, keep-local toggle and merge history), notes and connections on the right, search
and background tasks at the bottom, the sync state of the current case in the status bar.
Geometry, dock layout and splitters are saved on close and restored on start (unusable
stored state is ignored).

Every capability of the core is reachable from here: File (import, media ingest, hash
sets, export, report), Edit (records, merge, suggested duplicates, search), View (tabs and
docks) and Sync (sync now, conflicts, deconfliction, enrolment, offline bundles).

Every edit goes through an undoable command (``ui.commands``). Locking (Ctrl+L or the
idle timer) hides every dock, clears every model, locks the database and shows the
unlock dialog; unlocking brings the same case back.

Thread: UI thread.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabBar,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from workstation.analysis.search import SearchHit
from workstation.domain.models import CaseInfo, Changes, EntityInfo, LinkInfo, NoteInfo
from workstation.domain.service import Workstation
from workstation.errors import WorkstationError
from ui.appstate import app_settings, remember_case, restore_window_state, save_window_state
from ui.commands import (
    CreateCommand,
    DeleteCommand,
    MacroCommand,
    ServiceCommand,
    UpdateCommand,
    changed_fields,
    core_can_restore,
    execute,
)
from ui.dialogs import CaseDialog, EntityDialog, EventDialog, FormDialog, LinkDialog, SettingsDialog
from ui.dialogs_merge import DuplicatesDialog, MergeCommand, MergeDialog, MergeHistoryWidget
from ui.errors import close_error_dialogs, describe_error, show_error
from ui.session import Session
from ui.tasks import TaskPanelWidget
from ui.theme import apply_theme, icon
from ui.unlock import UnlockDialog
from ui.views.cases import CaseNavigatorWidget
from ui.views.connections import ConnectionsWidget
from ui.views.details import DetailsWidget
from ui.views.notes import NotesWidget
from ui.views.search import SearchPanelWidget
from ui.views.sync import ConflictsDialog, DeconflictionDialog, EnrolDialog, RecordSyncBar, SyncStatusWidget
from ui.views.tables import EntityTableWidget, EventTableWidget, RecordTableWidget

Confirm = Callable[[QWidget, str, str], bool]

# The central views beside the event table: name -> (tab title, icon, package providing it).
# They are built when first opened; a package that is not installed leaves its entry out.
VIEWS: dict[str, tuple[str, str, str]] = {
    "timeline": ("Timeline", "event", "ui.timeline"),
    "linkchart": ("Link chart", "link", "ui.linkchart"),
    "media": ("Media review", "media", "ui.media"),
}
HIDDEN_DOCKS = frozenset({"tasks", "search"})  # shown on demand (a task starts, Ctrl+F)


def view_available(name: str) -> bool:
    """Whether the package of central view ``name`` is present."""
    try:
        return importlib.util.find_spec(VIEWS[name][2]) is not None
    except (ImportError, ValueError):
        return False


def ask(parent: QWidget, title: str, text: str) -> bool:
    """A yes/no question (tests replace ``WorkspaceWidget.confirm``)."""
    answer = QMessageBox.question(parent, title, text,
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


class WorkspaceWidget(QMainWindow):
    """The investigator's main window over one ``Session``."""

    locked = Signal()
    unlocked = Signal()
    closed = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None, *, restore_state: bool = True) -> None:
        super().__init__(parent)
        self.session = session
        self.hub = session.hub
        self.confirm: Confirm = ask
        self.active_dialog: QWidget | None = None
        self.unlock_dialog: UnlockDialog | None = None
        self._active_table = "entity"
        self._resume_case: int | None = None
        self._resume_entities: frozenset[int] = frozenset()
        self._dock_visibility: dict[str, bool] = {}
        self._views: dict[str, QWidget] = {}
        self._hosts: dict[str, QScrollArea] = {}
        self._views_to_reopen: list[str] = []
        self._view_icons: dict[QWidget, str] = {}
        self.duplicates_dialog: DuplicatesDialog | None = None
        self.side_dialog: QWidget | None = None
        self.setObjectName("WorkspaceWidget")
        self.setWindowIcon(icon("app"))
        self.resize(1440, 900)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks
                            | QMainWindow.DockOption.AllowNestedDocks)

        # ---------------------------------------------------------- views
        self.case_navigator = CaseNavigatorWidget(session)
        self.entity_table = EntityTableWidget(session)
        self.event_table = EventTableWidget(session)
        self.details = DetailsWidget(session)
        self.notes = NotesWidget(session)
        self.task_panel = TaskPanelWidget(session.runner)
        self.search_panel = SearchPanelWidget(session)
        self.connections = ConnectionsWidget(session)
        self.record_sync_bar = RecordSyncBar(session)
        self.merge_history = MergeHistoryWidget(session)
        # Sync state + keep-local under the details header, merges as a details section.
        details_layout = self.details.layout()
        assert isinstance(details_layout, QVBoxLayout)
        details_layout.insertWidget(details_layout.indexOf(self.details.splitter), self.record_sync_bar)
        self.details.splitter.addWidget(self.merge_history)

        self.view_tabs = QTabWidget()
        self.view_tabs.setDocumentMode(True)
        self.view_tabs.setTabsClosable(True)
        self.view_tabs.addTab(self.event_table, icon("event"), "Events")
        self._view_icons[self.event_table] = "event"
        for side in (QTabBar.ButtonPosition.LeftSide, QTabBar.ButtonPosition.RightSide):
            self.view_tabs.tabBar().setTabButton(0, side, None)  # the event table stays
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view_tabs)
        self.locked_page = self._build_locked_page()
        self.stack.addWidget(self.locked_page)
        self.setCentralWidget(self.stack)

        self.docks: dict[str, QDockWidget] = {}
        # The side docks run the full height; search and tasks sit under the central views.
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self._add_dock("cases", "Cases", self.case_navigator, Qt.DockWidgetArea.LeftDockWidgetArea)
        self._add_dock("entities", "Entities", self.entity_table, Qt.DockWidgetArea.LeftDockWidgetArea)
        self._add_dock("details", "Details", self.details, Qt.DockWidgetArea.RightDockWidgetArea)
        self._add_dock("notes", "Notes", self.notes, Qt.DockWidgetArea.RightDockWidgetArea)
        self._add_dock("connections", "Connections", self.connections, Qt.DockWidgetArea.RightDockWidgetArea)
        self._add_dock("search", "Search", self.search_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._add_dock("tasks", "Tasks", self.task_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.splitDockWidget(self.docks["cases"], self.docks["entities"], Qt.Orientation.Vertical)
        self.splitDockWidget(self.docks["details"], self.docks["notes"], Qt.Orientation.Vertical)
        self.tabifyDockWidget(self.docks["notes"], self.docks["connections"])
        self.docks["notes"].raise_()
        self.splitDockWidget(self.docks["search"], self.docks["tasks"], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["cases"], self.docks["entities"]], [300, 520], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["cases"], self.docks["details"]], [540, 390], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["details"], self.docks["notes"]], [480, 380], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["search"], self.docks["tasks"]], [300, 300], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["search"], self.docks["tasks"]], [900, 360], Qt.Orientation.Horizontal)
        for name in HIDDEN_DOCKS:
            self.docks[name].hide()
        self.splitters: dict[str, QSplitter] = {
            "details": self.details.splitter, "notes": self.notes.splitter}

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self.sync_status = SyncStatusWidget(session)
        self.statusBar().addPermanentWidget(self.sync_status)
        self.path_label = QLabel()
        self.path_label.setObjectName("mutedLabel")
        self.statusBar().addPermanentWidget(self.path_label)

        # ---------------------------------------------------------- wiring
        session.attached.connect(self._on_attached)
        session.detached.connect(self._on_detached)
        session.settingsChanged.connect(self._on_settings)
        session.undo_stack.cleanChanged.connect(lambda _c: self._update_actions())
        session.undo_stack.indexChanged.connect(lambda _i: self._update_actions())
        self.hub.caseSelected.connect(lambda _c, _o: self._case_changed())
        self.hub.entitiesSelected.connect(lambda _i, _o: self._update_actions())
        self.hub.eventsSelected.connect(lambda _i, _o: self._update_actions())
        self.entity_table.activated.connect(lambda i: self.edit_record("entity", i))
        self.event_table.activated.connect(lambda i: self.edit_record("event", i))
        self.case_navigator.activated.connect(lambda i: self.edit_record("case", i))
        self.details.editRequested.connect(self.edit_record)
        self.details.addLinkRequested.connect(self.add_link)
        self.details.deleteLinkRequested.connect(self.delete_link)
        self.details.focusChanged.connect(self.notes.set_target)
        self.notes.saveRequested.connect(self.save_note)
        self.notes.deleteRequested.connect(self.delete_note)
        self.task_panel.attentionRequested.connect(self.show_tasks)
        session.runner.taskAdded.connect(self._task_added)
        self.details.loaded.connect(self._details_loaded)
        self.hub.caseSelected.connect(self._details_case_changed)
        self.search_panel.openRequested.connect(self.open_search_hit)
        self.connections.jumpRequested.connect(self.open_record)
        self.sync_status.conflictsRequested.connect(self.show_conflicts)
        self.sync_status.deconflictionRequested.connect(self.show_deconfliction)
        self.sync_status.enrolRequested.connect(self.enrol)
        self.view_tabs.tabCloseRequested.connect(self.close_view_at)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)

        if restore_state:
            restore_window_state(self, self.splitters)
            self._views_to_reopen = self._stored_views()
        self._dock_visibility = {n: not d.isHidden() for n, d in self.docks.items()}
        if session.is_locked:
            self._on_detached()
        else:
            self._on_attached()

    # ------------------------------------------------------------------ building
    def _add_dock(self, name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> None:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{name}")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        self.docks[name] = dock

    def _build_locked_page(self) -> QWidget:
        page = QWidget()
        page.setObjectName("lockedPage")
        v = QVBoxLayout(page)
        v.addStretch(1)
        pic = QLabel()
        pic.setPixmap(icon("lock").pixmap(64, 64))
        pic.setAlignment(Qt.AlignmentFlag.AlignCenter)
        v.addWidget(pic)
        text = QLabel("Locked")
        text.setObjectName("lockedLabel")
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        v.addWidget(text)
        sub = QLabel("Case data is hidden. Enter your passphrase to continue.")
        sub.setObjectName("mutedLabel")
        sub.setAlignment(Qt.AlignmentFlag.AlignCenter)
        v.addWidget(sub)
        v.addStretch(2)
        return page

    def _action(self, name: str, text: str, slot: Callable[[], Any], shortcut: Any = None,
                icon_name: str | None = None, tip: str | None = None) -> QAction:
        act = QAction(text, self)
        if icon_name:
            act.setIcon(icon(icon_name))
            self._action_icons[name] = icon_name
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                act.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setStatusTip(tip)
            act.setToolTip(f"{tip} ({act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
                           if not act.shortcut().isEmpty() else tip)
        act.triggered.connect(lambda _checked=False: slot())
        self.addAction(act)
        self.actions_by_name[name] = act
        return act

    def _build_actions(self) -> None:
        self.actions_by_name: dict[str, QAction] = {}
        self._action_icons: dict[str, str] = {"undo": "undo", "redo": "redo"}
        a = self._action
        a("new_case", "&New case…", self.new_case, QKeySequence.StandardKey.New, "new_case", "Create a case")
        a("edit_case", "Edit &case…", lambda: self.edit_record("case", self.hub.case_id), None, "edit",
          "Edit the current case")
        a("delete_case", "Delete case…", self.delete_case, None, "delete", "Delete the current case")
        a("new_entity", "New &entity…", self.new_entity, "Ctrl+E", "add_entity", "Add an entity to the case")
        a("new_event", "New e&vent…", self.new_event, "Ctrl+Shift+E", "add_event", "Add an event to the case")
        a("add_link", "Add &link…", lambda: self.add_link(None), "Ctrl+K", "link",
          "Link the selected entity to another")
        a("edit", "&Edit selected…", self.edit_selected, "F2", "edit", "Edit the selected record")
        a("delete", "&Delete selected", self.delete_selected, QKeySequence.StandardKey.Delete, "delete",
          "Delete the selected records")
        a("find", "&Search…", self.focus_search, QKeySequence.StandardKey.Find, "search",
          "Search every case: names, identifiers, messages, notes")
        a("filter", "&Filter the table", self.focus_filter, "Ctrl+Shift+F", None,
          "Filter the entity or event table used last")
        a("merge", "&Merge entities…", lambda: self.merge_selected(), "Ctrl+M", "entity",
          "Merge the selected entities into one (with a justification; can be undone)")
        a("duplicates", "Suggested &duplicates…", self.show_duplicates, None, None,
          "Entities of this case that are probably the same")
        a("import", "&Import…", self.import_file, "Ctrl+I", "open",
          "Import a chat export, statement or booking list into the case")
        a("ingest_media", "Ingest &media folder…", self.ingest_media, None, "media",
          "Hash and review a folder of seized media")
        a("import_hashset", "Import &hash set…", self.import_hashset, None, None,
          "Import a known-bad, alert or known-good hash list")
        a("export", "E&xport…", self.export_case, "Ctrl+Shift+X", None, "Export the case (CSV, Excel, JSON…)")
        a("report", "Case &report…", self.report_case, "Ctrl+Shift+P", None, "Write the case report (PDF or HTML)")
        a("view_events", "&Events", lambda: self.view_tabs.setCurrentWidget(self.event_table), "Ctrl+1",
          "event", "The event table")
        for n, (name, (title, icon_name, _pkg)) in enumerate(VIEWS.items(), start=2):
            a(f"view_{name}", f"&{title}", partial(self.open_view, name), f"Ctrl+{n}", icon_name,
              f"Open the {title.lower()}")
        a("sync_now", "&Sync now", self.sync_now, None, "sharing_hq", "Send shared changes to HQ and fetch theirs")
        a("conflicts", "&Conflicts…", self.show_conflicts, None, None, "Resolve fields edited here and elsewhere")
        a("deconflict", "Check &deconfliction", self.check_deconfliction, None, None,
          "Ask HQ whether another case holds this case's identifiers or media")
        a("enrol", "&Enrol with HQ…", self.enrol, None, None, "Connect this laptop to headquarters")
        a("bundle_out", "Write sync &bundle…", self.write_bundle, None, None,
          "Without a network: write the pending changes to a sealed file for HQ")
        a("bundle_in", "Read HQ &acknowledgement…", self.read_bundle, None, None,
          "Without a network: read the sealed answer file HQ sent back")
        a("lock", "&Lock", self.lock, "Ctrl+L", "lock", "Lock the workstation now")
        a("settings", "&Settings…", self.open_settings, QKeySequence.StandardKey.Preferences, "settings",
          "Preferences")
        a("open_database", "&Open another database…", self.switch_database, None, "open",
          "Lock this database and open another")
        a("refresh", "&Refresh", self.refresh, QKeySequence.StandardKey.Refresh, "refresh", "Reload the views")
        a("quit", "&Quit", self.close, QKeySequence.StandardKey.Quit, None, "Quit Case Workstation")
        undo = self.session.undo_stack.createUndoAction(self, "&Undo")
        undo.setIcon(icon("undo"))
        undo.setShortcuts([QKeySequence(QKeySequence.StandardKey.Undo)])
        redo = self.session.undo_stack.createRedoAction(self, "&Redo")
        redo.setIcon(icon("redo"))
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.addAction(undo)
        self.addAction(redo)
        self.actions_by_name["undo"] = undo
        self.actions_by_name["redo"] = redo
        for act in self.actions_by_name.values():
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)

    def _build_menus(self) -> None:
        m = self.menuBar()
        A = self.actions_by_name
        self.menus: dict[str, Any] = {}
        file_menu = self.menus["file"] = m.addMenu("&File")
        for name in ("new_case", None, "import", "ingest_media", "import_hashset", None, "export", "report",
                     None, "open_database", None, "lock", "settings", None, "quit"):
            file_menu.addSeparator() if name is None else file_menu.addAction(A[name])
        edit_menu = self.menus["edit"] = m.addMenu("&Edit")
        for name in ("undo", "redo", None, "new_entity", "new_event", "add_link", None, "edit", "delete",
                     None, "merge", "duplicates", None, "edit_case", "delete_case", None, "find", "filter"):
            edit_menu.addSeparator() if name is None else edit_menu.addAction(A[name])
        view_menu = self.menus["view"] = m.addMenu("&View")
        view_menu.addAction(A["view_events"])
        for name in VIEWS:
            if view_available(name):
                view_menu.addAction(A[f"view_{name}"])
            else:
                A[f"view_{name}"].setVisible(False)
        view_menu.addSeparator()
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        view_menu.addAction(A["refresh"])
        sync_menu = self.menus["sync"] = m.addMenu("&Sync")
        for name in ("sync_now", None, "conflicts", "deconflict", None, "enrol", None, "bundle_out", "bundle_in"):
            sync_menu.addSeparator() if name is None else sync_menu.addAction(A[name])
        help_menu = m.addMenu("&Help")
        about = QAction("About Case Workstation", self)
        about.triggered.connect(lambda: QMessageBox.about(
            self, "Case Workstation", "Case Workstation — encrypted case database, linking and review."))
        help_menu.addAction(about)
        for w, names in ((self.entity_table.view, ("new_entity", "add_link", "new_event", "edit", "delete",
                                                   "merge")),
                         (self.event_table.view, ("new_event", "edit", "delete")),
                         (self.case_navigator.view, ("new_case", "edit_case", "delete_case"))):
            for name in names:
                w.addAction(A[name])

    def _build_toolbar(self) -> None:
        tb = QToolBar("Main")
        tb.setObjectName("toolbar_main")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        A = self.actions_by_name
        # Short words on the toolbar (the menus keep the full names): everything fits 1366 px.
        for action, text in (("edit", "Edit"), ("delete", "Delete"), ("sync_now", "Sync"), ("find", "Search")):
            A[action].setIconText(text)
        for name in ("new_case", "new_entity", "new_event", "add_link", None, "edit", "delete", None,
                     "undo", "redo", None, "import", "find", "sync_now", None, "lock", "settings"):
            tb.addSeparator() if name is None else tb.addAction(A[name])
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.toolbar = tb

    def add_view_tab(self, widget: QWidget, title: str, icon_name: str | None = None) -> int:
        """Add a central view (timeline, link chart, media review…) beside the event table.

        The view should follow ``session.hub`` and clear itself on ``session.detached``.
        Returns the tab index.
        """
        self._view_icons[widget] = icon_name or "event"
        return self.view_tabs.addTab(widget, icon(icon_name) if icon_name else icon("event"), title)

    # ------------------------------------------------------------------ central views
    def open_view(self, name: str) -> QWidget | None:
        """Show central view ``name`` (timeline, linkchart, media), building it on first use."""
        if self.session.is_locked or name not in VIEWS:
            return None
        widget = self._views.get(name)
        if widget is None:
            widget = self._make_view(name)
            if widget is None:
                return None
            self._views[name] = widget
            self._hosts[name] = self._host(widget)
        host = self._hosts[name]
        if self.view_tabs.indexOf(host) < 0:
            title, icon_name, _pkg = VIEWS[name]
            self.add_view_tab(host, title, icon_name)
        self.view_tabs.setCurrentWidget(host)
        return widget

    @staticmethod
    def _host(widget: QWidget) -> QScrollArea:
        """A frameless scroll area around a central view: a view whose toolbar is wider
        than the space left between the docks scrolls sideways instead of forcing the
        window wider than the screen."""
        host = QScrollArea()
        host.setObjectName(f"host_{widget.objectName() or type(widget).__name__}")
        host.setFrameShape(QFrame.Shape.NoFrame)
        host.setWidgetResizable(True)
        host.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        host.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        host.setWidget(widget)
        return host

    def view(self, name: str) -> QWidget | None:
        """The central view ``name`` once built (it may be closed: see ``is_view_open``)."""
        return self._views.get(name)

    def current_view_name(self) -> str:
        """"events" or the name of the central view in front."""
        host = self.view_tabs.currentWidget()
        return next((n for n, h in self._hosts.items() if h is host), "events")

    def _make_view(self, name: str) -> QWidget | None:
        if not view_available(name):
            self.statusBar().showMessage(f"The {VIEWS[name][0].lower()} is not installed.", 6000)
            return None
        if name == "timeline":
            from ui.timeline import TimelineWidget

            timeline = TimelineWidget(self.session)
            timeline.rangeSelected.connect(self._time_range_selected)
            return timeline
        if name == "linkchart":
            from ui.linkchart import LinkChartWidget

            return LinkChartWidget(self.session, self.hub, self.session.runner)
        from ui.media import MediaReviewWidget

        return MediaReviewWidget(self.session)

    def _time_range_selected(self, start_us: object, end_us: object) -> None:
        """A window picked on the timeline filters the event table and the link chart;
        (None, None) clears it."""
        start = int(start_us) if start_us is not None else None
        end = int(end_us) if end_us is not None else None
        self.event_table.model.set_query(start=start, end=end)
        chart = self.view("linkchart") if self.is_view_open("linkchart") else None
        if chart is not None and hasattr(chart, "set_time_window"):
            chart.set_time_window(start, end)
        if start is not None and end is not None:
            from workstation.clock import from_micros

            self.statusBar().showMessage(
                f"Events filtered to {from_micros(start):%Y-%m-%d %H:%M} – {from_micros(end):%Y-%m-%d %H:%M} UTC "
                "(clear the range on the timeline to show all)", 8000)

    @Slot(int)
    def close_view_at(self, index: int) -> None:
        """Close a central view tab (the event table stays).

        The view is only taken off the tab bar, not destroyed: it keeps following the
        selection and clears itself on lock like any view, its background work finishes
        normally, and reopening it is instant and finds it as it was.
        """
        host = self.view_tabs.widget(index)
        name = next((n for n, h in self._hosts.items() if h is host), None)
        if name is None:
            return
        self.view_tabs.removeTab(index)

    def is_view_open(self, name: str) -> bool:
        """Whether central view ``name`` has a tab now."""
        host = self._hosts.get(name)
        return host is not None and self.view_tabs.indexOf(host) >= 0

    def _stored_views(self) -> list[str]:
        value: Any = app_settings().value("ui/open_views", [])
        names = [value] if isinstance(value, str) else list(value or [])
        return [n for n in names if n in VIEWS]

    def _store_views(self) -> None:
        names = [n for i in range(self.view_tabs.count())
                 for n, h in self._hosts.items() if h is self.view_tabs.widget(i)]
        app_settings().setValue("ui/open_views", names)

    # ------------------------------------------------------------------ state
    def _update_actions(self) -> None:
        A = self.actions_by_name
        unlocked = not self.session.is_locked
        has_case = unlocked and self.hub.case_id is not None
        for name in ("new_case", "settings", "refresh", "lock", "open_database", "find", "view_events",
                     "sync_now", "conflicts", "enrol", "bundle_out", "bundle_in",
                     *(f"view_{v}" for v in VIEWS)):
            A[name].setEnabled(unlocked)
        for name in ("edit_case", "delete_case", "new_entity", "new_event", "filter", "import", "ingest_media",
                     "import_hashset", "export", "report", "duplicates", "deconflict"):
            A[name].setEnabled(has_case)
        A["add_link"].setEnabled(has_case and len(self.hub.entities) >= 1)
        A["merge"].setEnabled(has_case and len(self.hub.entities) >= 2)
        target = self._target_ids()
        A["edit"].setEnabled(has_case and bool(target[1]) or has_case and target[0] == "case")
        A["delete"].setEnabled(has_case and bool(target[1]) or has_case and target[0] == "case")
        if not unlocked:
            A["undo"].setEnabled(False)
            A["redo"].setEnabled(False)
        else:
            A["undo"].setEnabled(self.session.undo_stack.canUndo())
            A["redo"].setEnabled(self.session.undo_stack.canRedo())
        name = self.session.path.name if self.session.path else ""
        self.setWindowTitle(f"Case Workstation — {name}{' (locked)' if not unlocked else ''}")
        self.path_label.setText(str(self.session.path) if self.session.path and unlocked else "")

    def _case_changed(self) -> None:
        self._update_actions()
        case = self.case_navigator.current_case()
        if case is not None and self.session.path is not None:
            try:
                remember_case(str(self.session.path), case.uid)
            except OSError:
                pass

    @Slot(QWidget, QWidget)
    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        w = new
        while w is not None:
            if w is self.entity_table:
                self._active_table = "entity"
                break
            if w is self.event_table:
                self._active_table = "event"
                break
            if w is self.case_navigator:
                self._active_table = "case"
                break
            w = w.parentWidget()
        self._update_actions()

    def _target_ids(self) -> tuple[str, list[int]]:
        if self._active_table == "case":
            return "case", [self.hub.case_id] if self.hub.case_id is not None else []
        if self._active_table == "event":
            return "event", self.event_table.selected_ids()
        return "entity", self.entity_table.selected_ids()

    @Slot()
    def show_tasks(self) -> None:
        """Bring the task panel forward (a task failed or started)."""
        self.docks["tasks"].show()
        self.docks["tasks"].raise_()

    def _task_added(self, info: Any) -> None:
        if info.visible:
            self.docks["tasks"].show()

    # ------------------------------------------------------------------ lock / unlock
    def _on_detached(self) -> None:
        if any(not d.isHidden() for d in self.docks.values()):
            self._dock_visibility = {n: not d.isHidden() for n, d in self.docks.items()}
        for dock in self.docks.values():
            dock.hide()
        self.toolbar.setEnabled(False)
        self.stack.setCurrentWidget(self.locked_page)
        self._update_actions()

    def _on_attached(self) -> None:
        self.stack.setCurrentWidget(self.view_tabs)
        self.toolbar.setEnabled(True)
        for name, dock in self.docks.items():
            dock.setVisible(self._dock_visibility.get(name, name not in HIDDEN_DOCKS))
        if self._resume_case is not None:
            self.case_navigator.select_case_later(self._resume_case)
            wanted = self._resume_entities

            def reselect(_n: int) -> None:
                self.entity_table.model.idsLoaded.disconnect(reselect)
                if wanted and not self.hub.entities:
                    self.hub.select_entities(wanted)
            if wanted:
                self.entity_table.model.idsLoaded.connect(reselect)
        self._resume_case = None
        reopen, self._views_to_reopen = self._views_to_reopen, []
        current = self.view_tabs.currentWidget()
        for name in reopen:
            if view_available(name):
                self.open_view(name)
        self.view_tabs.setCurrentWidget(current)
        self._update_actions()
        self.unlocked.emit()

    @Slot()
    def lock(self) -> None:
        """Hide every record, lock the database, and ask for the passphrase."""
        if self.session.is_locked:
            return
        if self.active_dialog is not None:
            self.active_dialog.close()
            self.active_dialog = None
        self._close_side_dialogs()
        close_error_dialogs()
        self._resume_case = self.hub.case_id
        self._resume_entities = self.hub.entities
        path = str(self.session.path) if self.session.path else None
        self.session.detach()
        self.hub.clear()
        self.locked.emit()
        if path is not None:
            self.show_unlock_dialog(path)

    def show_unlock_dialog(self, path: str, *, switch: bool = False) -> UnlockDialog:
        """The passphrase prompt over the locked window (or to open another database)."""
        if self.unlock_dialog is not None:
            self.unlock_dialog.close()
        dlg = UnlockDialog(self.session.runner, self, locked_path=None if switch else path,
                           initial_path=path if switch else None)
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.unlocked.connect(lambda ws, p, s=switch: self.resume(ws, p, switched=s))
        dlg.rejected.connect(self._unlock_rejected)
        self.unlock_dialog = dlg
        dlg.open()
        return dlg

    def resume(self, ws: Workstation, path: str, switched: bool = False) -> None:
        """Attach a freshly unlocked Workstation (same database, or another one)."""
        self.unlock_dialog = None
        if switched or (self.session.path is not None and Path(path).resolve() != self.session.path.resolve()):
            self.session.undo_stack.clear()
            self._resume_case = None
        self.session.attach(ws, path)

    def _unlock_rejected(self) -> None:
        self.unlock_dialog = None
        if self.session.is_locked:
            self.close()

    @Slot()
    def switch_database(self) -> None:
        path = str(self.session.path) if self.session.path else ""
        self.lock_for_switch()
        self.show_unlock_dialog(path, switch=True)

    def lock_for_switch(self) -> None:
        if not self.session.is_locked:
            self._resume_case = None
            self.session.detach()
            self.hub.clear()
            self.locked.emit()

    # ------------------------------------------------------------------ settings / view
    def _on_settings(self, settings: Any) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            from ui.theme import current_theme

            if settings.theme != current_theme():
                apply_theme(app, settings.theme)
                from ui.appstate import app_settings

                app_settings().setValue("ui/theme", settings.theme)
            self.refresh_icons()
        self._update_actions()

    def refresh_icons(self) -> None:
        """Re-read the monochrome icons in the current theme's text colour."""
        for name, icon_name in self._action_icons.items():
            self.actions_by_name[name].setIcon(icon(icon_name))
        for i in range(self.view_tabs.count()):
            tab = self.view_tabs.widget(i)
            self.view_tabs.setTabIcon(i, icon(self._view_icons.get(tab, "event") if tab is not None else "event"))

    @Slot()
    def open_settings(self) -> None:
        dlg = SettingsDialog(self, self.session.settings)

        def handler(form: FormDialog, values: dict[str, Any]) -> None:
            self.session.save_settings(values["settings"], on_done=lambda _s: form.finish(),
                                       on_error=lambda exc, _d: form.fail(describe_error(exc)[1]))
        self._open_form(dlg, handler)

    @Slot()
    def focus_search(self) -> None:
        """Ctrl+F: show the search panel and put the cursor in its box."""
        if self.session.is_locked:
            return
        dock = self.docks["search"]
        dock.show()
        dock.raise_()
        self.search_panel.focus_search()

    @Slot()
    def focus_filter(self) -> None:
        """Ctrl+Shift+F: the filter box of the table used last."""
        table: RecordTableWidget = self.event_table if self._active_table == "event" else self.entity_table
        if table is self.event_table:
            self.view_tabs.setCurrentWidget(self.event_table)
        else:
            self.docks["entities"].show()
            self.docks["entities"].raise_()
        table.focus_filter()

    @Slot()
    def refresh(self) -> None:
        self.case_navigator.reload()
        self.entity_table.model.reload()
        self.event_table.model.reload()
        self.details.reload()

    # ------------------------------------------------------------------ forms
    def _open_form(self, dlg: FormDialog, handler: Callable[[FormDialog, dict[str, Any]], None]) -> FormDialog:
        dlg.submit_handler = handler
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.finished.connect(lambda _r, d=dlg: self._form_closed(d))
        self.active_dialog = dlg
        dlg.open()
        return dlg

    def _form_closed(self, dlg: QWidget) -> None:
        if self.active_dialog is dlg:
            self.active_dialog = None
        dlg.deleteLater()

    def _run_command(self, form: FormDialog | None, command: ServiceCommand,
                     after: Callable[[ServiceCommand], None] | None = None) -> None:
        def done(cmd: ServiceCommand) -> None:
            if form is not None:
                form.finish(cmd)
            if after is not None:
                after(cmd)

        def failed(exc: BaseException, details: str) -> None:
            if form is not None and isinstance(exc, WorkstationError):
                form.fail(describe_error(exc)[1])
            else:
                if form is not None:
                    form.fail("")
                show_error(self, exc, details)

        execute(self.session, command, on_done=done, on_error=failed)

    def _need_case(self) -> int | None:
        case_id = self.hub.case_id
        if case_id is None:
            self.statusBar().showMessage("Open a case first.", 4000)
        return case_id

    # ------------------------------------------------------------------ cases
    @Slot()
    def new_case(self) -> FormDialog | None:
        if self.session.is_locked:
            return None
        dlg = CaseDialog(self)

        def handler(form: FormDialog, v: dict[str, Any]) -> None:
            def create(ws: Workstation, _r: Any) -> Any:
                ch = ws.create_case(v["number"], v["title"], agency=v["agency"], lead_officer=v["lead_officer"],
                                    summary=v["summary"], sharing=v["sharing"], shared_with=v["shared_with"],
                                    timezone=v["timezone"])
                if v["keep_local"]:
                    ws.update_case(ch.id, keep_local=True)
                return ch
            cmd = CreateCommand(self.session, "case", f"New case {v['number']}", create)
            self._run_command(form, cmd, lambda _c: self.case_navigator.select_case_later(cmd.created_id)
                              if cmd.created_id is not None else None)
        return self._open_form(dlg, handler)

    @Slot()
    def delete_case(self) -> None:
        case = self.case_navigator.current_case()
        if case is None:
            return
        reversible = self._core_can_restore()
        warning = "" if reversible else "\n\nThis cannot be undone."
        if not self.confirm(self, "Delete case",
                            f"Delete case {case.number} “{case.title}” and hide all its records?{warning}"):
            return
        cmd = DeleteCommand(self.session, "case", case.id, f"Delete case {case.number}")
        if reversible:
            self._run_command(None, cmd)
        else:
            self.session.mutate(cmd.work_redo, title=cmd.text())

    def _core_can_restore(self) -> bool:
        return not self.session.is_locked and core_can_restore(self.session.ws, "case")

    # ------------------------------------------------------------------ records
    def edit_selected(self) -> None:
        table, ids = self._target_ids()
        if ids:
            self.edit_record(table, ids[0])

    def edit_record(self, table: str, record_id: int | None) -> FormDialog | None:
        """Open the edit form of a case, entity or event."""
        if record_id is None or self.session.is_locked:
            return None
        ws = self.session.ws
        try:
            if table == "case":
                return self._edit_case(ws.get_case(record_id))
            if table == "entity":
                return self._edit_entity(ws.get_entity(record_id))
            if table == "event":
                return self._edit_event(record_id)
        except WorkstationError as exc:
            show_error(self, exc)
        return None

    def _edit_case(self, case: CaseInfo) -> FormDialog:
        dlg = CaseDialog(self, case)
        before_all = {"title": case.title, "status": case.status, "agency": case.agency,
                      "lead_officer": case.lead_officer, "summary": case.summary, "sharing": case.sharing,
                      "shared_with": tuple(case.shared_with), "timezone": case.timezone,
                      "keep_local": case.keep_local}

        def handler(form: FormDialog, v: dict[str, Any]) -> None:
            v = {k: v[k] for k in before_all if k in v}
            before, after = changed_fields(before_all, v)
            if not after:
                form.finish()
                return
            self._run_command(form, UpdateCommand(self.session, "case", case.id, before, after,
                                                  f"Edit case {case.number}"))
        return self._open_form(dlg, handler)

    @Slot()
    def new_entity(self) -> FormDialog | None:
        case_id = self._need_case()
        if case_id is None:
            return None
        dlg = EntityDialog(self)

        def handler(form: FormDialog, v: dict[str, Any]) -> None:
            def create(ws: Workstation, _r: Any) -> Any:
                return ws.add_entity(case_id, v["kind"], v["value"], label=v["label"],
                                     properties=v["properties"], platform=v["platform"])

            def after(cmd: ServiceCommand) -> None:
                assert isinstance(cmd, CreateCommand)
                if cmd.existing:
                    self.statusBar().showMessage("That identifier is already in this case: selected it.", 6000)
                if cmd.created_id is not None:
                    self.hub.select_entities([cmd.created_id])
            self._run_command(form, CreateCommand(self.session, "entity", f"New {v['kind']}", create), after)
        return self._open_form(dlg, handler)

    def _edit_entity(self, e: EntityInfo) -> FormDialog:
        dlg = EntityDialog(self, e)
        before_all = {"label": e.label, "properties": dict(e.properties), "keep_local": e.keep_local}

        def handler(form: FormDialog, v: dict[str, Any]) -> None:
            before, after = changed_fields(before_all, v)
            if not after:
                form.finish()
                return
            self._run_command(form, UpdateCommand(self.session, "entity", e.id, before, after,
                                                  f"Edit {e.label}"))
        return self._open_form(dlg, handler)

    def _focused_entity(self) -> EntityInfo | None:
        ids = self.entity_table.selected_ids() or sorted(self.hub.entities)
        current = self.entity_table.current_id()
        target = current if current in ids else (ids[0] if ids else None)
        if target is None or self.session.is_locked:
            return None
        try:
            return self.session.ws.get_entity(target)
        except WorkstationError:
            return None

    def add_link(self, entity_id: int | None) -> FormDialog | None:
        """Link ``entity_id`` (default: the selected entity) to another entity."""
        if self.session.is_locked:
            return None
        source = self.session.ws.get_entity(entity_id) if entity_id is not None else self._focused_entity()
        if source is None:
            self.statusBar().showMessage("Select the entity to link from.", 4000)
            return None
        dlg = LinkDialog(self, self.session, source)

        def handler(form: FormDialog, v: dict[str, Any]) -> None:
            def create(ws: Workstation, r: Any) -> Any:
                return ws.add_link(r("entity", v["src_id"]), r("entity", v["dst_id"]), v["kind"],
                                   confidence=v["confidence"])
            self._run_command(form, CreateCommand(self.session, "link", f"Link {v['kind']}", create))
        return self._open_form(dlg, handler)

    def delete_link(self, link: LinkInfo) -> None:
        self._run_command(None, DeleteCommand(self.session, "link", link.id,
                                              f"Remove link {link.kind}", case_id=link.case_id))

    @Slot()
    def new_event(self) -> FormDialog | None:
        case_id = self._need_case()
        if case_id is None:
            return None
        parties: list[EntityInfo] = []
        if self.hub.entities and not self.session.is_locked:
            parties = self.session.ws.get_entities(sorted(self.hub.entities)[:10])
        dlg = EventDialog(self, self.session, case_id, parties=parties)

        def handler(form: FormDialog, v: dict[str, Any]) -> None:
            def create(ws: Workstation, r: Any) -> Any:
                return ws.add_event(case_id, v["kind"], v["occurred_at"], title=v["title"], body=v["body"],
                                    properties=v["properties"],
                                    parties=[(r("entity", e), role) for e, role in v["parties"]])

            def after(cmd: ServiceCommand) -> None:
                assert isinstance(cmd, CreateCommand)
                if cmd.created_id is not None:
                    self.hub.select_events([cmd.created_id])
            self._run_command(form, CreateCommand(self.session, "event", f"New {v['kind']}", create), after)
        return self._open_form(dlg, handler)

    def _edit_event(self, event_id: int) -> FormDialog:
        ev = self.session.ws.get_event(event_id)
        dlg = EventDialog(self, self.session, ev.case_id, ev)
        before_all = {"kind": ev.kind, "occurred_at": ev.occurred_at, "title": ev.title, "body": ev.body,
                      "properties": dict(ev.properties)}

        def handler(form: FormDialog, v: dict[str, Any]) -> None:
            before, after = changed_fields(before_all, v)
            if "occurred_at" in after and before["occurred_at"] is not None and after["occurred_at"] is not None \
                    and before["occurred_at"] == after["occurred_at"]:
                before.pop("occurred_at")
                after.pop("occurred_at")
            if not after:
                form.finish()
                return
            self._run_command(form, UpdateCommand(self.session, "event", ev.id, before, after,
                                                  f"Edit event {ev.title or ev.kind}"))
        return self._open_form(dlg, handler)

    @Slot()
    def delete_selected(self) -> None:
        """Delete the selected entities or events (one undo step), or the case."""
        table, ids = self._target_ids()
        if table == "case":
            self.delete_case()
            return
        if not ids:
            return
        noun = {"entity": ("entity", "entities"), "event": ("event", "events")}[table]
        commands: list[ServiceCommand] = [DeleteCommand(self.session, table, i, f"Delete {noun[0]}")
                                          for i in ids]
        cmd = commands[0] if len(commands) == 1 else MacroCommand(
            self.session, f"Delete {len(commands)} {noun[1]}", commands)
        self._run_command(None, cmd)

    # ------------------------------------------------------------------ notes
    def save_note(self, note: NoteInfo | None, body: str) -> None:
        case_id = self._need_case()
        if case_id is None:
            return
        if note is None:
            ttype, tid = self.notes.target_type, self.notes.target_id

            def create(ws: Workstation, r: Any) -> Any:
                return ws.add_note(case_id, body, target_type=ttype,
                                   target_id=r(ttype, tid) if ttype and tid is not None else None)
            self._run_command(None, CreateCommand(self.session, "note", "Add note", create))
        else:
            self._run_command(None, UpdateCommand(self.session, "note", note.id, {"body": note.body},
                                                  {"body": body}, "Edit note"))

    def delete_note(self, note: NoteInfo) -> None:
        self._run_command(None, DeleteCommand(self.session, "note", note.id, "Delete note", case_id=note.case_id))

    # ------------------------------------------------------------------ details extras
    def _details_loaded(self) -> None:
        data = self.details.data
        if data is None:
            return
        self.record_sync_bar.set_record(data.table, data.record)
        self.merge_history.set_entity(data.record.id if data.table == "entity" else None)

    def _details_case_changed(self, case_id: int | None, _origin: object) -> None:
        if case_id is None:
            self.record_sync_bar.set_record(None, None)
            self.merge_history.set_entity(None)

    # ------------------------------------------------------------------ going to a record
    def open_record(self, case_id: int, table: str, ids: Sequence[int] = ()) -> None:
        """Make ``case_id`` current and show ``ids`` of ``table`` in it.

        ``table``: "case" (just the case), "entity" (selected in the entity table),
        "event" (selected in the event table, which comes to the front), "note" (the notes
        panel of the case) or "media" (the media review). Filters of the target table that
        would hide the record are cleared first.
        """
        if self.session.is_locked:
            return
        ids = [int(i) for i in ids]
        if self.hub.case_id != case_id:
            nav = self.case_navigator
            if nav.model.row_of(case_id) is None and not nav.closed_check.isChecked():
                nav.closed_check.setChecked(True)  # a closed case is hidden otherwise
            nav.select_case_later(case_id)
            if self.hub.case_id != case_id:
                # Not listed yet (created or pulled meanwhile): the next list selects it.
                self.hub.select_case(case_id)
                nav.reload()
        if table == "entity" and ids:
            self._unfilter(self.entity_table)
            self.docks["entities"].show()
            self.docks["entities"].raise_()
            self._active_table = "entity"
            self.hub.select_entities(ids)
            self.entity_table.select_ids(ids)
        elif table == "event" and ids:
            self._unfilter(self.event_table)
            if self.event_table.only_selected_check.isChecked():
                self.event_table.only_selected_check.setChecked(False)
            self.view_tabs.setCurrentWidget(self.event_table)
            self._active_table = "event"
            self.hub.select_events(ids)
            self.event_table.select_ids(ids)
        elif table == "note":
            self.docks["notes"].show()
            self.docks["notes"].raise_()
        elif table == "media":
            self.open_view("media")
        self._update_actions()

    @staticmethod
    def _unfilter(table: RecordTableWidget) -> None:
        if table.filter_edit.text() or table.kind_combo.currentIndex() > 0:
            table.filter_edit.blockSignals(True)
            table.filter_edit.clear()
            table.filter_edit.blockSignals(False)
            table.kind_combo.blockSignals(True)
            table.kind_combo.setCurrentIndex(0)
            table.kind_combo.blockSignals(False)
            table.model.set_query(text="", kind=None)

    @Slot(object)
    def open_search_hit(self, hit: SearchHit) -> None:
        """Open a search hit in context: its case, then the record in the tables."""
        if hit.kind in ("entity", "event"):
            self.open_record(hit.case_id, hit.kind, [hit.id])
            return
        if hit.kind == "case":
            self.open_record(hit.case_id, "case")
            return
        # A note: its case, then what it is attached to, with the notes panel in front.
        note_id = hit.id

        def target(ws: Workstation) -> tuple[str | None, int | None]:
            note = next((n for n in ws.list_notes(hit.case_id) if n.id == note_id), None)
            return (note.target_type, note.target_id) if note is not None else (None, None)

        def done(found: tuple[str | None, int | None]) -> None:
            ttype, tid = found
            if ttype in ("entity", "event") and tid is not None:
                self.open_record(hit.case_id, ttype, [tid])
            else:
                self.open_record(hit.case_id, "case")
            self.open_record(hit.case_id, "note")

        self.session.read(target, done, title="Finding the note")

    # ------------------------------------------------------------------ merge
    def merge_selected(self, entity_ids: Sequence[int] | None = None) -> None:
        """Merge… for the selected entities (or ``entity_ids``): opens ``MergeDialog``."""
        if self.session.is_locked:
            return
        ids = list(entity_ids) if entity_ids is not None else (
            self.entity_table.selected_ids() or sorted(self.hub.entities))
        if len(ids) < 2:
            self.statusBar().showMessage("Select two or more entities to merge.", 5000)
            return
        def opened(found: list[EntityInfo]) -> None:
            self._open_merge_dialog(found)

        self.session.read(lambda ws: ws.get_entities(ids), opened, title="Reading entities")

    def _open_merge_dialog(self, entities: list[EntityInfo]) -> MergeDialog | None:
        if len(entities) < 2:
            self.statusBar().showMessage("Those entities are gone; nothing to merge.", 5000)
            return None
        if self.active_dialog is not None:
            self.active_dialog.close()
        dlg = MergeDialog(self, entities)

        def handler(form: FormDialog, v: dict[str, Any]) -> None:
            n = len(v["merged"]) + 1
            cmd = MergeCommand(self.session, v["survivor"], v["merged"], v["justification"], f"Merge {n} entities")
            self._run_command(form, cmd, lambda _c: self.hub.select_entities([v["survivor"]]))
        self._open_form(dlg, handler)
        return dlg

    @Slot()
    def show_duplicates(self) -> DuplicatesDialog | None:
        """The suggested duplicates of the current case (modeless)."""
        case_id = self._need_case()
        if case_id is None:
            return None
        if self.duplicates_dialog is not None:
            self.duplicates_dialog.close()
        dlg = DuplicatesDialog(self.session, case_id, self)
        dlg.mergeRequested.connect(lambda ids: self.merge_selected(ids))
        dlg.finished.connect(lambda _r, d=dlg: self._duplicates_closed(d))
        self.duplicates_dialog = dlg
        dlg.show()
        return dlg

    def _duplicates_closed(self, dlg: DuplicatesDialog) -> None:
        if self.duplicates_dialog is dlg:
            self.duplicates_dialog = None
        dlg.deleteLater()

    # ------------------------------------------------------------------ import / export
    def _show_side_dialog(self, dlg: QWidget) -> QWidget:
        """A task dialog of its own (import, export, report, conflicts): one at a time."""
        if self.side_dialog is not None:
            self.side_dialog.close()
        self.side_dialog = dlg
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dlg.destroyed.connect(lambda _o=None, d=dlg: self._side_dialog_gone(d))
        dlg.show()
        return dlg

    def _side_dialog_gone(self, dlg: QWidget) -> None:
        if self.side_dialog is dlg:
            self.side_dialog = None

    def _close_side_dialogs(self) -> None:
        for dlg in (self.side_dialog, self.duplicates_dialog):
            if dlg is not None:
                dlg.close()
        self.side_dialog = None
        self.duplicates_dialog = None

    @Slot()
    def import_file(self) -> QWidget | None:
        """File → Import…: the import wizard for the current case."""
        case_id = self._need_case()
        if case_id is None:
            return None
        from ui.import_wizard import ImportWizardDialog

        return self._show_side_dialog(ImportWizardDialog(self.session, case_id, self))

    @Slot()
    def export_case(self) -> QWidget | None:
        case_id = self._need_case()
        if case_id is None:
            return None
        from ui.reports import ExportDialog

        return self._show_side_dialog(ExportDialog(self.session, case_id, self))

    @Slot()
    def report_case(self) -> QWidget | None:
        case_id = self._need_case()
        if case_id is None:
            return None
        from ui.reports import ReportDialog

        return self._show_side_dialog(ReportDialog(self.session, case_id, self))

    @Slot()
    def ingest_media(self) -> None:
        """File → Ingest media folder…: through the media review (it shows the result)."""
        if self._need_case() is None:
            return
        media = self.open_view("media")
        if media is not None:
            media.choose_ingest()  # type: ignore[attr-defined]

    @Slot()
    def import_hashset(self) -> None:
        if self._need_case() is None:
            return
        media = self.open_view("media")
        if media is not None:
            media.choose_hashset()  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ sync
    @Slot()
    def sync_now(self) -> None:
        """Sync → Sync now: push and pull on the network lane, shown in the task panel."""
        if self.session.is_locked:
            return
        summary = self.sync_status.summary
        if summary is not None and not summary.enrolled:
            self.statusBar().showMessage("This laptop is not enrolled with HQ yet: enrol first.", 8000)
            self.enrol()
            return
        from workstation.sync.engine import sync_now

        def done(report: Any) -> None:
            self.statusBar().showMessage(
                f"Synced with HQ: sent {report.pushed:,}, received {report.pulled:,}, "
                f"{report.conflicts} new conflict(s), {report.held} held back.", 12000)
            if report.pulled or report.conflicts:
                # Records arrived from HQ: every view reloads what it shows.
                self.session.emit_changes([Changes("source", "imported", (), None)])
            self._after_sync()
            self._deconflict(quiet=True)

        self.session.run_task(lambda ws, progress, cancel: sync_now(ws, progress, cancel), title="Sync with HQ",
                              lane="net", on_done=done)

    def _after_sync(self) -> None:
        self.sync_status.refresh()
        self.record_sync_bar.refresh_state()

    @Slot()
    def show_conflicts(self) -> QWidget | None:
        if self.session.is_locked:
            return None
        dlg = ConflictsDialog(self.session, self.hub.case_id, self)
        dlg.resolved.connect(lambda _i: self._after_sync())
        dlg.resolved.connect(lambda _i: self.refresh())
        return self._show_side_dialog(dlg)

    @Slot()
    def check_deconfliction(self) -> None:
        """Sync → Check deconfliction: ask HQ, then show what it said."""
        self._deconflict(quiet=False)

    def _deconflict(self, *, quiet: bool) -> None:
        case_id = self.hub.case_id
        summary = self.sync_status.summary
        if case_id is None or self.session.is_locked:
            return
        if quiet and (summary is None or summary.case is None or summary.case.state == "local only"
                      or not summary.enrolled):
            return
        if not quiet and summary is not None and not summary.enrolled:
            self.statusBar().showMessage("Deconfliction asks HQ: enrol this laptop first.", 8000)
            self.enrol()
            return
        from workstation.sync.deconflict import deconflict

        def done(hits: Any) -> None:
            self.sync_status.set_deconfliction(case_id, hits)
            if not quiet:
                self.show_deconfliction()

        def failed(exc: BaseException, details: str) -> None:
            if not quiet:  # a background check never interrupts; the menu entry reports
                show_error(self, exc, details)

        ws = self.session.ws
        self.session.runner.submit(lambda _p, _c: deconflict(ws, case_id), title="Deconfliction check",
                                   lane="net", visible=not quiet, on_done=done, on_error=failed)

    @Slot()
    def show_deconfliction(self) -> QWidget | None:
        case = self.case_navigator.current_case()
        if case is None:
            return None
        hits = self.sync_status.deconfliction.get(case.id)
        if hits is None:
            self.check_deconfliction()
            return None
        return self._show_side_dialog(DeconflictionDialog(hits, case.number, self))

    @Slot()
    def enrol(self) -> FormDialog | None:
        """Sync → Enrol with HQ…: the one-time code from the HQ administrator."""
        if self.session.is_locked:
            return None
        from workstation.sync.client import enroll

        dlg = EnrolDialog(self)

        def handler(form: FormDialog, v: dict[str, Any]) -> None:
            ws = self.session.ws

            def work(_progress: Any, _cancel: Any) -> str:
                enr = enroll(ws, v["url"], v["code"], ca_cert=v["ca_cert"], label=v["label"])
                return f"Enrolled with {enr.hq_url} as {enr.officer} ({enr.agency})."

            def done(message: str) -> None:
                form.finish()
                self.statusBar().showMessage(message, 12000)
                self._after_sync()

            def failed(exc: BaseException, details: str) -> None:
                if isinstance(exc, WorkstationError):
                    form.fail(describe_error(exc)[1])
                else:
                    form.fail("")
                    show_error(self, exc, details)

            self.session.runner.submit(work, title="Enrolling with HQ", lane="net", visible=False,
                                       on_done=done, on_error=failed)
        return self._open_form(dlg, handler)

    @Slot()
    def write_bundle(self, path: str | None = None) -> None:
        """Sync → Write sync bundle…: pending changes sealed to HQ, for carrying by hand."""
        if self.session.is_locked:
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Write sync bundle", "changes.cwsbundle",
                                                  "Sync bundles (*.cwsbundle);;All files (*)")
        if not path:
            return
        from workstation.sync.engine import export_bundle

        target = path

        def done(report: Any) -> None:
            self.statusBar().showMessage(f"Wrote {report.records:,} change(s) to {report.path}.", 12000)
            self._after_sync()

        self.session.run_task(lambda ws, progress, cancel: export_bundle(ws, target, progress, cancel),
                              title=f"Writing sync bundle {Path(target).name}", lane="net", on_done=done)

    @Slot()
    def read_bundle(self, path: str | None = None) -> None:
        """Sync → Read HQ acknowledgement…: apply HQ's sealed answer file."""
        if self.session.is_locked:
            return
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Read HQ acknowledgement", "",
                                                  "Sync bundles (*.cwsbundle *.ack);;All files (*)")
        if not path:
            return
        from workstation.sync.engine import import_bundle

        source = path

        def done(report: Any) -> None:
            self.statusBar().showMessage(
                f"Read HQ's answer: received {report.pulled:,}, {report.conflicts} conflict(s).", 12000)
            self.session.emit_changes([Changes("source", "imported", (), None)])
            self._after_sync()

        self.session.run_task(lambda ws, _progress, _cancel: import_bundle(ws, source),
                              title=f"Reading {Path(source).name}", lane="net", on_done=done)

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event: QCloseEvent) -> None:
        try:
            save_window_state(self, self.splitters)
            self._store_views()
        except Exception:  # noqa: BLE001 - never block closing on a settings problem
            pass
        self._close_side_dialogs()
        if self.unlock_dialog is not None:
            self.unlock_dialog.close()
            self.unlock_dialog = None
        app = QApplication.instance()
        if isinstance(app, QApplication):
            try:
                app.focusChanged.disconnect(self._focus_changed)
            except (RuntimeError, TypeError):
                pass
        self.session.close()
        self.closed.emit()
        super().closeEvent(event)


def find_workspace(obj: QObject | None) -> WorkspaceWidget | None:
    while obj is not None:
        if isinstance(obj, WorkspaceWidget):
            return obj
        obj = obj.parent()
    return None
