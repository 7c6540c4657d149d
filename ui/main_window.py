"""The main window: docks around a central tab area, menus, toolbar, shortcuts, lock.

Layout: the case navigator and the entity table on the left, the event table in the
centre (the timeline, link chart and media views will join it as tabs), details and
notes on the right, background tasks at the bottom. Geometry, dock layout and splitters
are saved on close and restored on start (unusable stored state is ignored).

Every edit goes through an undoable command (``ui.commands``). Locking (Ctrl+L or the
idle timer) hides every dock, clears every model, locks the database and shows the
unlock dialog; unlocking brings the same case back.

Thread: UI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from workstation.domain.models import CaseInfo, EntityInfo, LinkInfo, NoteInfo
from workstation.domain.service import Workstation
from workstation.errors import WorkstationError
from ui.appstate import remember_case, restore_window_state, save_window_state
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
from ui.errors import close_error_dialogs, describe_error, show_error
from ui.session import Session
from ui.tasks import TaskPanelWidget
from ui.theme import apply_theme, icon
from ui.unlock import UnlockDialog
from ui.views.cases import CaseNavigatorWidget
from ui.views.details import DetailsWidget
from ui.views.notes import NotesWidget
from ui.views.tables import EntityTableWidget, EventTableWidget, RecordTableWidget

Confirm = Callable[[QWidget, str, str], bool]


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

        self.view_tabs = QTabWidget()
        self.view_tabs.setDocumentMode(True)
        self.view_tabs.addTab(self.event_table, icon("event"), "Events")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view_tabs)
        self.locked_page = self._build_locked_page()
        self.stack.addWidget(self.locked_page)
        self.setCentralWidget(self.stack)

        self.docks: dict[str, QDockWidget] = {}
        self._add_dock("cases", "Cases", self.case_navigator, Qt.DockWidgetArea.LeftDockWidgetArea)
        self._add_dock("entities", "Entities", self.entity_table, Qt.DockWidgetArea.LeftDockWidgetArea)
        self._add_dock("details", "Details", self.details, Qt.DockWidgetArea.RightDockWidgetArea)
        self._add_dock("notes", "Notes", self.notes, Qt.DockWidgetArea.RightDockWidgetArea)
        self._add_dock("tasks", "Tasks", self.task_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.splitDockWidget(self.docks["cases"], self.docks["entities"], Qt.Orientation.Vertical)
        self.splitDockWidget(self.docks["details"], self.docks["notes"], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["cases"], self.docks["entities"]], [300, 520], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["cases"], self.docks["details"]], [540, 390], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["details"], self.docks["notes"]], [560, 260], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["tasks"]], [120], Qt.Orientation.Vertical)
        self.docks["tasks"].hide()
        self.splitters: dict[str, QSplitter] = {
            "details": self.details.splitter, "notes": self.notes.splitter}

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
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
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)

        if restore_state:
            restore_window_state(self, self.splitters)
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
        a("find", "&Find…", self.focus_search, QKeySequence.StandardKey.Find, "search",
          "Search the active table")
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
        file_menu = m.addMenu("&File")
        for name in ("new_case", "open_database", None, "lock", "settings", None, "quit"):
            file_menu.addSeparator() if name is None else file_menu.addAction(A[name])
        edit_menu = m.addMenu("&Edit")
        for name in ("undo", "redo", None, "new_entity", "new_event", "add_link", None, "edit", "delete",
                     None, "edit_case", "delete_case", None, "find"):
            edit_menu.addSeparator() if name is None else edit_menu.addAction(A[name])
        view_menu = m.addMenu("&View")
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        view_menu.addAction(A["refresh"])
        help_menu = m.addMenu("&Help")
        about = QAction("About Case Workstation", self)
        about.triggered.connect(lambda: QMessageBox.about(
            self, "Case Workstation", "Case Workstation — encrypted case database, linking and review."))
        help_menu.addAction(about)
        for w, names in ((self.entity_table.view, ("new_entity", "add_link", "new_event", "edit", "delete")),
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
        for name in ("new_case", "new_entity", "new_event", "add_link", None, "edit", "delete", None,
                     "undo", "redo", None, "lock", "settings"):
            tb.addSeparator() if name is None else tb.addAction(A[name])
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.toolbar = tb

    def add_view_tab(self, widget: QWidget, title: str, icon_name: str | None = None) -> int:
        """Add a central view (timeline, link chart, media review…) beside the event table.

        The view should follow ``session.hub`` and clear itself on ``session.detached``.
        Returns the tab index.
        """
        return self.view_tabs.addTab(widget, icon(icon_name) if icon_name else icon("event"), title)

    # ------------------------------------------------------------------ state
    def _update_actions(self) -> None:
        A = self.actions_by_name
        unlocked = not self.session.is_locked
        has_case = unlocked and self.hub.case_id is not None
        for name in ("new_case", "settings", "refresh", "lock", "open_database"):
            A[name].setEnabled(unlocked)
        for name in ("edit_case", "delete_case", "new_entity", "new_event", "find"):
            A[name].setEnabled(has_case)
        A["add_link"].setEnabled(has_case and len(self.hub.entities) >= 1)
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
            dock.setVisible(self._dock_visibility.get(name, name != "tasks"))
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
        self.view_tabs.setTabIcon(0, icon("event"))

    @Slot()
    def open_settings(self) -> None:
        dlg = SettingsDialog(self, self.session.settings)

        def handler(form: FormDialog, values: dict[str, Any]) -> None:
            self.session.save_settings(values["settings"], on_done=lambda _s: form.finish(),
                                       on_error=lambda exc, _d: form.fail(describe_error(exc)[1]))
        self._open_form(dlg, handler)

    @Slot()
    def focus_search(self) -> None:
        """Ctrl+F: the filter box of the table used last (the global search comes later)."""
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

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event: QCloseEvent) -> None:
        try:
            save_window_state(self, self.splitters)
        except Exception:  # noqa: BLE001 - never block closing on a settings problem
            pass
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
