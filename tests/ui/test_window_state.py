"""Window layout saved and restored through QSettings; corrupt state is ignored."""

from __future__ import annotations

from PySide6.QtCore import QByteArray

from ui.appstate import app_settings, recent_databases, remember_database, restore_window_state
from ui.main_window import WorkspaceWidget


def test_layout_is_restored_after_restart(qtbot, session):  # noqa: ANN001
    first = WorkspaceWidget(session, restore_state=False)
    qtbot.addWidget(first)
    first.resize(700, 610)  # the offscreen screen is 800 px wide: width stays at the minimum
    first.show()
    size = (first.width(), first.height())
    first.docks["notes"].hide()
    first.docks["connections"].hide()  # tabbed with the notes: the details get their room
    qtbot.wait(50)
    first.details.splitter.setSizes([60, 0, 400])
    qtbot.wait(50)
    sizes = first.details.splitter.sizes()
    assert sizes[0] < sizes[2]
    from ui.appstate import save_window_state

    save_window_state(first, first.splitters)
    first.hide()

    second = WorkspaceWidget(session)  # restores from QSettings
    qtbot.addWidget(second)
    second.show()
    qtbot.wait(50)
    assert second.height() == size[1]  # (the width is bound by the 800 px offscreen screen)
    assert second.docks["notes"].isHidden() and not second.docks["details"].isHidden()
    assert second.docks["connections"].isHidden()
    restored = second.details.splitter.sizes()
    assert restored[0] == sizes[0] and restored[2] > restored[0], (restored, sizes)


def test_corrupt_state_is_ignored(qtbot, session):  # noqa: ANN001
    s = app_settings()
    s.setValue("window/version", 1)
    s.setValue("window/geometry", QByteArray(b"\x00garbage\xff" * 7))
    s.setValue("window/state", "not even bytes")
    s.setValue("window/splitter/details", QByteArray(b"\x01\x02"))
    s.sync()
    w = WorkspaceWidget(session)
    qtbot.addWidget(w)
    w.show()
    assert not w.docks["cases"].isHidden() and w.width() >= 640
    assert restore_window_state(w, w.splitters) is False


def test_off_screen_geometry_is_brought_back(qtbot, session):  # noqa: ANN001
    w = WorkspaceWidget(session, restore_state=False)
    qtbot.addWidget(w)
    w.move(40_000, 40_000)
    w.show()
    from PySide6.QtWidgets import QApplication

    from ui.appstate import ensure_on_screen

    ensure_on_screen(w)
    screen = QApplication.primaryScreen().availableGeometry()
    assert screen.intersects(w.frameGeometry())


def test_recent_databases_keep_paths_only(tmp_path) -> None:  # noqa: ANN001
    a, b = tmp_path / "a.cwdb", tmp_path / "b.cwdb"
    a.write_bytes(b"x")
    b.write_bytes(b"x")
    remember_database(a)
    remember_database(b)
    remember_database(a)
    assert recent_databases() == [str(a.resolve()), str(b.resolve())]
    b.unlink()
    assert recent_databases() == [str(a.resolve())], "missing files are not offered"
