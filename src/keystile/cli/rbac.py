"""`keystile rbac …`: show and change a project's RBAC policy.

The declared policy (the project's own resources, roles and scopes) is stored per project;
`show` prints what `rbac.policy` returns: the declaration on top of Stytch's default
resources and roles. docs/authorization.md describes the format.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from keystile.cli.common import Typer, err, print_table, run

app = Typer(
    help="The project's RBAC policy: resources and their actions, roles and their permissions, scopes. "
    "Stytch's stytch.* resources and the stytch_member / stytch_admin roles are always part of it.",
    no_args_is_help=True,
)

ProjectOpt = Annotated[str, typer.Option("--project", help="The project_id.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]


def _work(project: str, change: Any = None) -> dict[str, Any]:
    """Apply `change(declared) -> Policy` (if any) in one transaction; return the effective policy."""
    from keystile.core import policy_store as repository
    from keystile.core.policy import effective
    from keystile.projects.service import require_project

    async def work(state: Any) -> dict[str, Any]:
        await require_project(state.conn, project)
        declared = await repository.declared(state.conn, project)
        if change is not None:
            declared = change(declared)
            await repository.save(state.conn, project, declared, state.clock.now())
        return effective(declared).wire()

    from keystile.projects.service import ProjectNotFound

    try:
        return run(work)
    except ProjectNotFound:
        err.print(f"[red]No project {project}[/red]")
        raise typer.Exit(2) from None
    except (ValidationError, ValueError) as exc:
        err.print(f"[red]Invalid policy: {_reason(exc)}[/red]")
        raise typer.Exit(2) from None


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where + ': ' if where else ''}{first.get('msg', exc)}".replace("Value error, ", "")
    return str(exc)


def _done(policy: dict[str, Any], as_json: bool, message: str) -> None:
    """After a change: the resulting policy as JSON with --json, else one line on stderr."""
    if as_json:
        sys.stdout.write(json.dumps(policy) + "\n")
    else:
        err.print(message)


def _print(policy: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(policy) + "\n")
        return
    print_table(
        ["resource_id", "actions", "description"],
        [[r["resource_id"], ", ".join(r["actions"]), r["description"]] for r in policy["resources"]],
        whole=("resource_id",),
        title="Resources",
    )
    print_table(
        ["role_id", "permissions", "description"],
        [[role["role_id"], _permissions(role), role["description"]] for role in policy["roles"]],
        whole=("role_id",),
        title="Roles",
    )
    if policy["scopes"]:
        print_table(
            ["scope", "permissions", "description"],
            [[s["scope"], _permissions(s), s["description"]] for s in policy["scopes"]],
            whole=("scope",),
            title="Scopes",
        )


def _permissions(holder: dict[str, Any]) -> str:
    return "; ".join(f"{p['resource_id']}: {', '.join(p['actions'])}" for p in holder["permissions"])


def _load_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        err.print(f"[red]No such file: {path}[/red]")
        raise typer.Exit(2)
    try:
        data = json.loads(path.read_text()) if path.suffix == ".json" else tomllib.loads(path.read_text())
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        err.print(f"[red]Cannot parse {path}: {exc}[/red]")
        raise typer.Exit(2) from None
    # A whole keystile.toml-style table (`[rbac]`) or the policy itself.
    return data.get("rbac", data) if isinstance(data, dict) else data


@app.command("show")
def show(project: ProjectOpt, as_json: JsonOpt = False) -> None:
    """Show the policy `rbac.policy` returns: Stytch's defaults plus the project's declaration."""
    _print(_work(project), as_json)


@app.command("set")
def set_policy(
    project: ProjectOpt,
    file: Annotated[
        Path,
        typer.Option(
            "--file",
            help="A TOML (or .json) file with `resources`, `roles` and `scopes` arrays, e.g. "
            '[[resources]] resource_id = "documents" actions = ["read", "write"]. Replaces the declaration.',
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Replace the project's declared policy with the one in a file (validated first)."""
    from keystile.core.policy import Policy

    data = _load_file(file)
    _done(
        _work(project, lambda _declared: Policy.model_validate(data)),
        as_json,
        f"policy of {project} set from {file}",
    )


def _parse_permission(text: str) -> dict[str, Any]:
    resource, sep, actions = text.partition(":")
    if not sep or not resource or not actions:
        err.print(f"[red]--permission {text!r}: use RESOURCE:ACTION[,ACTION…], e.g. documents:read,write[/red]")
        raise typer.Exit(2)
    return {
        "resource_id": resource.strip(),
        "actions": [a.strip() for a in actions.split(",") if a.strip()],
    }


@app.command("add-role")
def add_role(
    role_id: Annotated[str, typer.Argument(help="The role's id, e.g. editor.")],
    project: ProjectOpt,
    permission: Annotated[
        list[str],
        typer.Option(
            "--permission",
            help="RESOURCE:ACTION[,ACTION…] (or RESOURCE:*); repeat for several.",
        ),
    ],
    description: Annotated[str, typer.Option(help="What the role is for.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Add a role, or replace the role with this id (stytch_member / stytch_admin: added to the defaults)."""
    from keystile.core.policy import Policy

    perms = [_parse_permission(p) for p in permission]

    def change(declared: Policy) -> Policy:
        doc = declared.model_dump()
        doc["roles"] = [r for r in doc["roles"] if r["role_id"] != role_id]
        doc["roles"].append({"role_id": role_id, "description": description, "permissions": perms})
        return Policy.model_validate(doc)

    _done(_work(project, change), as_json, f"role {role_id} saved")


@app.command("add-resource")
def add_resource(
    resource_id: Annotated[str, typer.Argument(help="The resource's id, e.g. documents (not stytch.*).")],
    project: ProjectOpt,
    actions: Annotated[str, typer.Option(help="Comma-separated actions, e.g. read,write,delete.")],
    description: Annotated[str, typer.Option(help="What the resource is.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Add a resource (or replace the resource with this id)."""
    from keystile.core.policy import Policy

    def change(declared: Policy) -> Policy:
        doc = declared.model_dump()
        doc["resources"] = [r for r in doc["resources"] if r["resource_id"] != resource_id]
        doc["resources"].append(
            {
                "resource_id": resource_id,
                "description": description,
                "actions": [a.strip() for a in actions.split(",") if a.strip()],
            }
        )
        return Policy.model_validate(doc)

    _done(_work(project, change), as_json, f"resource {resource_id} saved")


@app.command("remove-role")
def remove_role(
    role_id: Annotated[str, typer.Argument(help="The role to remove.")],
    project: ProjectOpt,
    as_json: JsonOpt = False,
) -> None:
    """Remove a declared role (Members keep the id, which then grants nothing)."""
    from keystile.core.policy import Policy

    def change(declared: Policy) -> Policy:
        if declared.role(role_id) is None:
            raise ValueError(f"the project declares no role {role_id!r}")
        doc = declared.model_dump()
        doc["roles"] = [r for r in doc["roles"] if r["role_id"] != role_id]
        return Policy.model_validate(doc)

    _done(_work(project, change), as_json, f"role {role_id} removed")


@app.command("reset")
def reset(project: ProjectOpt, as_json: JsonOpt = False) -> None:
    """Drop the project's declaration: back to Stytch's default resources and roles."""
    from keystile.core.policy import Policy

    _done(
        _work(project, lambda _declared: Policy()),
        as_json,
        f"policy of {project} reset to the defaults",
    )
