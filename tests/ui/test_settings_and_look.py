"""Settings dialog through the core, themes and icons."""

from __future__ import annotations

from PySide6.QtGui import QPalette

from workstation.domain.models import ENTITY_KINDS, EVENT_KINDS
from ui.theme import THEMES, apply_theme, current_theme, entity_icon, event_icon, icon, load_stylesheet


def test_settings_saved_through_the_core(qtbot, window, ws):  # noqa: ANN001
    window.actions_by_name["settings"].trigger()
    dlg = window.active_dialog
    assert dlg.autolock_spin.maximum() == 30 and dlg.autolock_spin.minimum() == 1
    dlg.autolock_spin.setValue(45)
    assert dlg.autolock_spin.value() == 30
    dlg.autolock_spin.setValue(5)
    dlg.tz_combo.setCurrentText("Europe/Paris")
    dlg.region_combo.setCurrentIndex(dlg.region_combo.findData("GB"))
    dlg.hq_edit.setText("http://hq.example.org")
    dlg.ok_button.click()
    assert dlg.isVisible() and "https" in dlg.error_label.text(), "the core's validation is shown inline"
    dlg.hq_edit.setText("https://hq.example.org")
    dlg.ok_button.click()
    qtbot.waitUntil(lambda: window.active_dialog is None, timeout=5000)
    stored = ws.settings
    from workstation.domain.service import Workstation

    reread = Workstation(ws.db).settings
    for s in (stored, reread):
        assert (s.autolock_minutes, s.display_timezone, s.phone_region, s.hq_url) == (
            5, "Europe/Paris", "GB", "https://hq.example.org")


def test_theme_switch_from_settings(qtbot, window, qapp):  # noqa: ANN001
    apply_theme(qapp, "light")
    light_base = qapp.palette().color(QPalette.ColorRole.Base)
    window.actions_by_name["settings"].trigger()
    dlg = window.active_dialog
    dlg.theme_combo.setCurrentIndex(dlg.theme_combo.findData("dark"))
    dlg.ok_button.click()
    qtbot.waitUntil(lambda: current_theme() == "dark", timeout=5000)
    assert qapp.palette().color(QPalette.ColorRole.Base).lightness() < light_base.lightness()
    assert "QDockWidget" in qapp.styleSheet()
    apply_theme(qapp, "light")


def test_every_kind_has_its_own_icon(qapp) -> None:  # noqa: ANN001
    for theme in THEMES:
        assert load_stylesheet(theme).strip()
    fallback = icon("entity").pixmap(24, 24).toImage()
    for kind in ENTITY_KINDS:
        ic = entity_icon(kind)
        assert not ic.isNull(), kind
        assert ic.pixmap(24, 24).toImage() != fallback, f"{kind} uses the fallback picture"
    for kind in ("message", "transaction", "arrest", "booking", "media_capture", "call", "login"):
        assert kind in EVENT_KINDS
        assert event_icon(kind).pixmap(24, 24).toImage() != icon("event").pixmap(24, 24).toImage(), kind
    for name in ("case", "lock", "undo", "redo", "sharing_local", "sharing_hq", "sharing_agencies", "app"):
        assert not icon(name).isNull(), name
    assert entity_icon("spaceship").pixmap(24, 24).toImage() == fallback


def test_check_boxes_are_visible_in_the_dark_theme(qtbot, qapp) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QCheckBox

    def indicator_contrast(box: QCheckBox) -> int:
        """The largest lightness difference between the box's indicator area and the
        window colour behind it."""
        box.resize(200, 24)
        box.show()
        image = box.grab().toImage()
        back = qapp.palette().color(QPalette.ColorRole.Window).lightness()
        return max(abs(image.pixelColor(x, y).lightness() - back)
                   for x in range(0, 20) for y in range(image.height()))

    apply_theme(qapp, "dark")
    try:
        unchecked, checked = QCheckBox("Keep on this laptop"), QCheckBox("Selected entity only")
        checked.setChecked(True)
        for box in (unchecked, checked):
            qtbot.addWidget(box)
        # Fusion's own frame on a dark window differs from it by a few shades: unreadable.
        assert indicator_contrast(unchecked) >= 60
        assert indicator_contrast(checked) >= 60
        on = checked.grab().toImage().pixelColor(8, 12)
        off = unchecked.grab().toImage().pixelColor(8, 12)
        assert on != off  # ticked and not ticked look different
    finally:
        apply_theme(qapp, "light")
