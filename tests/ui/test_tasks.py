"""Background tasks: progress, cancel, errors, the task panel, and a responsive UI thread."""

from __future__ import annotations

import gc
import sys
import threading
import time
from datetime import timedelta

import pytest
from PySide6.QtCore import QElapsedTimer, QTimer
from PySide6.QtWidgets import QApplication

import ui.errors
from tests.ui.conftest import T0
from ui.errors import ErrorDialog, install_excepthooks, show_error, uninstall_excepthooks
from ui.tasks import TaskPanelWidget, TaskRunner, TaskState
from workstation.errors import BadInput, Cancelled, WrongPassphrase


@pytest.fixture
def runner(qapp):  # noqa: ANN001
    r = TaskRunner()
    yield r
    r.shutdown(5000)


def test_progress_result_and_panel_rows(qtbot, runner):  # noqa: ANN001
    panel = TaskPanelWidget(runner, linger_ms=50)
    qtbot.addWidget(panel)
    panel.show()
    seen: list[float] = []

    def job(progress, cancel):  # noqa: ANN001
        for i in range(5):
            progress((i + 1) / 5, f"step {i + 1}")
            time.sleep(0.06)  # longer than the progress throttle
        return "done!"

    runner.taskUpdated.connect(lambda info: seen.append(info.fraction) if info.fraction is not None else None)
    results = []
    info = runner.submit(job, title="Counting", on_done=results.append)
    assert info.id in panel.rows
    qtbot.waitUntil(lambda: results == ["done!"], timeout=5000)
    assert info.state == TaskState.DONE and seen[-1] == 1.0 and len(seen) >= 3
    assert seen == sorted(seen)
    qtbot.waitUntil(lambda: info.id not in panel.rows, timeout=2000)


def test_cancel_from_the_panel(qtbot, runner):  # noqa: ANN001
    panel = TaskPanelWidget(runner)
    qtbot.addWidget(panel)
    panel.show()
    started = threading.Event()

    def job(progress, cancel):  # noqa: ANN001
        started.set()
        while True:
            cancel.raise_if_set()
            progress(None, "waiting")
            time.sleep(0.01)

    info = runner.submit(job, title="Endless")
    assert started.wait(5)
    row = panel.rows[info.id]
    qtbot.waitUntil(lambda: row.cancel_button.isVisible(), timeout=2000)
    row.cancel_button.click()
    qtbot.waitUntil(lambda: info.state == TaskState.CANCELLED, timeout=5000)
    assert row.message_label.text() == "Cancelled" and not row.cancel_button.isVisible()


def test_failure_stays_in_panel_with_details(qtbot, runner, ui_errors):  # noqa: ANN001
    panel = TaskPanelWidget(runner)
    qtbot.addWidget(panel)
    panel.show()

    def job(progress, cancel):  # noqa: ANN001
        raise BadInput("statement.csv row 12, field amount: 'twelve' is not a number")

    info = runner.submit(job, title="Import statement.csv")
    qtbot.waitUntil(lambda: info.state == TaskState.FAILED, timeout=5000)
    row = panel.rows[info.id]
    assert "row 12" in row.message_label.text() and row.details_button.isVisible()
    row.details_button.click()
    shown = ui_errors.expect(BadInput)
    assert "row 12" in str(shown)


def test_error_dialog_says_what_happened(qtbot) -> None:  # noqa: ANN001
    try:
        raise KeyError("bug")
    except KeyError as exc:
        bug = exc
    dlg = ErrorDialog(None, bug)
    qtbot.addWidget(dlg)
    assert dlg.windowTitle() == "Unexpected error"
    assert "Traceback" in dlg.details_edit.toPlainText() and not dlg.details_edit.isVisibleTo(dlg)
    dlg.details_button.click()
    assert dlg.details_edit.isVisibleTo(dlg)
    wrong = ErrorDialog(None, WrongPassphrase("x.cwdb: wrong passphrase"))
    qtbot.addWidget(wrong)
    assert wrong.windowTitle() == "Wrong passphrase" and "x.cwdb" in wrong.message_label.text()
    # cancellation is silent
    ui.errors.error_sink, saved = None, ui.errors.error_sink
    try:
        assert show_error(None, Cancelled("stop")) is None
    finally:
        ui.errors.error_sink = saved


def test_uncaught_errors_of_any_thread_reach_show_error(qtbot, ui_errors):  # noqa: ANN001
    install_excepthooks()
    try:
        try:
            raise ValueError("from the UI thread")
        except ValueError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)

        def boom() -> None:
            raise RuntimeError("from a worker thread")
        t = threading.Thread(target=boom)
        t.start()
        t.join()
        qtbot.waitUntil(lambda: len(ui_errors) == 2, timeout=5000)
        assert str(ui_errors.expect(ValueError)) == "from the UI thread"
        assert str(ui_errors.expect(RuntimeError)) == "from a worker thread"
    finally:
        uninstall_excepthooks()


def test_ui_thread_never_blocked_during_database_work(qtbot, session, ws):  # noqa: ANN001
    """A watchdog timer every 10 ms measures the event loop while a worker writes events."""
    case_id = ws.create_case("2024-ICE-0100", "Watchdog").id
    person = ws.add_entity(case_id, "person", "Jamie Mockridge").id
    n_events = 1000

    def insert_events(w, progress, cancel):  # noqa: ANN001
        for i in range(n_events):
            cancel.raise_if_set()
            w.add_event(case_id, "message", T0 + timedelta(seconds=i), title=f"m{i}",
                        parties=[(person, "sender")])
            if i % 50 == 0:
                progress(i / n_events, f"{i} events")
        return n_events

    # A full garbage collection of the test process's large heap can itself pause the
    # loop; collect and freeze first so the watchdog measures the worker's effect only.
    gc.collect()
    gc.freeze()
    gaps: list[int] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    watchdog = QTimer()
    watchdog.setInterval(10)
    watchdog.timeout.connect(tick)
    watchdog.start()
    done = []
    info = session.run_task(insert_events, title="Writing events", on_done=done.append)
    assert info is not None
    try:
        qtbot.waitUntil(lambda: bool(done), timeout=120_000)
    finally:
        watchdog.stop()
        gc.unfreeze()
    assert done == [n_events] and ws.count_events(case_id) == n_events
    assert len(gaps) > 20, "the event loop kept running"
    assert max(gaps) < 100, f"UI thread blocked for {max(gaps)} ms (slowest gaps {sorted(gaps)[-5:]})"
    QApplication.processEvents()
