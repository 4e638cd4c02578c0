"""``python -m mlgen`` runs the command line."""

from __future__ import annotations

import sys

from mlgen.cli import main

sys.exit(main())
