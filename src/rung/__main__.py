"""``python -m rung``: the ``rung`` command line (``rung.cli.main``)."""

from rung.cli.main import main

raise SystemExit(main())
