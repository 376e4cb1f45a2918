"""CLI commands of the transfer area."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the ``htan-cds`` app."""
