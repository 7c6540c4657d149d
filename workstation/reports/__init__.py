"""Case reports (PDF/HTML), exports (CSV, XLSX, GraphML, i2 ANX, FollowTheMoney, VICS) and
imports from other tools (FollowTheMoney, GraphML).

Public API (imported lazily so ``workstation --help`` stays fast):

* :func:`build_report` / :class:`ReportInfo` — ``workstation.reports.report``
* :func:`export_case` / :class:`ExportInfo` — ``workstation.reports.exports``
* :func:`import_ftm`, :func:`import_graphml`, :class:`InteropProblems` — ``workstation.reports.interop``
* :func:`case_state` / :class:`CaseState` — ``workstation.reports.state``
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "build_report": "report", "ReportInfo": "report", "SECTIONS": "report", "SECTION_TITLES": "report",
    "parse_sections": "report",
    "export_case": "exports", "ExportInfo": "exports", "FORMATS": "exports", "TABLES": "exports",
    "FORMAT_LABELS": "exports", "default_file_name": "exports", "neutralise": "exports",
    "import_ftm": "interop", "import_graphml": "interop", "InteropProblems": "interop", "write_ftm": "interop",
    "case_state": "state", "CaseState": "state",
    "atomic_write": "atomic",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'workstation.reports' has no attribute {name!r}")
    return getattr(import_module(f"workstation.reports.{module}"), name)


__all__ = sorted(_WHERE)
