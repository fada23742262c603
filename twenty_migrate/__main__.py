"""``python -m twenty_migrate`` runs the command-line interface."""

from __future__ import annotations

from twenty_migrate.ui.cli import main

raise SystemExit(main())
