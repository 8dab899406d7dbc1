"""Signals beyond the category: accuracy of the type, precision and recall of urgency and escalation risk, and of
duplicate proposals, on the labelled sets in textclf/signals_labels/ (docs/signals.md).

    .venv/bin/python bench/signals.py [--split dev|test|all] [--errors N] [--json] [--data DIR]

The same as ``python -m textclf.signals_eval``. The labelled real messages are read from the shared data
folder ($SIGNALS_DATA_DIR, else $MASSLINE_DATA_DIR_SHARED/messages, else ../shared/data/messages); without it
only the synthetic examples are measured, and the run says so.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textclf.signals_eval import main

if __name__ == "__main__":
    sys.exit(main())
