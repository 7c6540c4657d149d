"""Console entry point ``workstation``: the core CLI, or the desktop app with no subcommand.

It lives in ``ui`` so that the core never imports the GUI; Qt is imported only when the
GUI actually starts, so scripted use works on machines without a display.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from workstation.cli import main as cli_main


def _gui(args: argparse.Namespace) -> int:
    from ui.app import run_gui

    return run_gui(args)


def main(argv: Sequence[str] | None = None) -> int:
    return cli_main(argv, gui=_gui)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
