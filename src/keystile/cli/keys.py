"""`keystile keys …`"""

from __future__ import annotations

import typer

app = typer.Typer(help="Signing keys: rotate a project's JWT signing key.", no_args_is_help=True)
