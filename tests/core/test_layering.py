"""The layering rule, enforced: the core never imports Qt or the UI; the UI never touches SQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_linter_contracts_hold() -> None:
    exe = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(exe), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "KEPT" in proc.stdout and "BROKEN" not in proc.stdout


def test_core_imports_without_qt_installed() -> None:
    # Block PySide6/pyqtgraph/shiboken6 as if uninstalled, then import every core module.
    code = r"""
import importlib, pkgutil, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'PySide6', 'shiboken6', 'pyqtgraph', 'ui'}:
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import workstation
for m in pkgutil.walk_packages(workstation.__path__, 'workstation.'):
    if '.migrations' in m.name:
        continue
    importlib.import_module(m.name)
print('ok')
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]
