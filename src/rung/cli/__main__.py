"""``python -m rung.cli``: the ``rung`` command without its console script."""

from __future__ import annotations

import sys

from rung.cli.main import main

sys.exit(main())
