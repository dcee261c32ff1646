"""`keystile rbac …`"""

from __future__ import annotations

import typer

app = typer.Typer(help="The project's RBAC policy: resources, actions, roles and scopes.", no_args_is_help=True)
