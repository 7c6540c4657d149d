"""Dialogs for case reports and exports (File → Case report…, File → Export…)."""

from ui.reports.dialogs import ExportDialog, ReportDialog

__all__ = ["ExportDialog", "ReportDialog"]
