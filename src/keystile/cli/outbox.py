"""`keystile outbox …`"""

from __future__ import annotations

import typer

app = typer.Typer(help="The email outbox: list queued, sent and failed messages.", no_args_is_help=True)
