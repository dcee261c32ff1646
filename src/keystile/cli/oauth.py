"""`keystile oauth …`: a project's OAuth clients at Google, Microsoft, GitHub and the other
providers (oauth/providers.py): the client id and secret each provider's console gives, and
any of the provider's endpoints pointed elsewhere (oauth/registrations.py). The secret is
stored sealed with the master key and never printed.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from keystile.cli.common import CommandFailed, Typer, out, run

app = Typer(help="OAuth clients of a project at social login providers (Google, GitHub, …).", no_args_is_help=True)

ProjectOption = Annotated[str, typer.Option("--project", help="The project_id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]


async def _require_project(state: Any, project_id: str) -> None:
    from keystile.projects import repository as projects_repo

    if await projects_repo.find_project(state.conn, project_id) is None:
        raise CommandFailed(f"No project {project_id}.")


@app.command("providers")
def list_providers(
    project: Annotated[
        str | None, typer.Option("--project", help="Also print the callback URL to paste at each provider.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The providers keystile knows, where to register an app at each, and (with --project) the
    callback URL to paste there."""
    from keystile.oauth import providers

    callback = ""
    if project is not None:

        async def work(state: Any) -> str:
            from keystile.oauth.callback import callback_url
            from keystile.projects import repository as projects_repo

            row = await projects_repo.find_project(state.conn, project)
            if row is None:
                raise CommandFailed(f"No project {project}.")
            return callback_url(state.settings, row.public_token)

        callback = run(work)
    rows = [
        {"provider": p.name, "oidc": p.oidc, "scopes": list(p.scopes), "console": p.console}
        for p in providers.PROVIDERS.values()
    ]
    if as_json:
        sys.stdout.write(json.dumps({"providers": rows, "callback_url": callback or None}) + "\n")
        return
    for r in rows:
        kind = "OpenID Connect" if r["oidc"] else "OAuth 2"
        out.print(f"{r['provider']:<11} {kind:<15} {r['console']}", soft_wrap=True, highlight=False)
    if callback:
        out.print(f"\nCallback URL (paste at each provider): {callback}", soft_wrap=True, highlight=False)


@app.command("set")
def set_client(
    provider: Annotated[str, typer.Argument(help="google, microsoft, github, … (keystile oauth providers).")],
    project: ProjectOption,
    client_id: Annotated[str, typer.Option("--client-id", help="The client id the provider's console shows.")],
    client_secret: Annotated[
        str,
        typer.Option(
            "--client-secret",
            envvar="KEYSTILE_OAUTH_CLIENT_SECRET",
            help="The client secret (or KEYSTILE_OAUTH_CLIENT_SECRET, to keep it out of the shell history).",
        ),
    ],
    scopes: Annotated[
        str | None, typer.Option("--scopes", help="Scopes asked by default, space-separated (default: keystile's).")
    ] = None,
    authorize_url: Annotated[str | None, typer.Option("--authorize-url")] = None,
    token_url: Annotated[str | None, typer.Option("--token-url")] = None,
    userinfo_url: Annotated[str | None, typer.Option("--userinfo-url")] = None,
    jwks_url: Annotated[str | None, typer.Option("--jwks-url")] = None,
    issuer: Annotated[str | None, typer.Option("--issuer")] = None,
) -> None:
    """Set the project's client at a provider, replacing the one before. Endpoint options point
    the provider's endpoints elsewhere (a proxy, a test identity provider)."""
    settings: dict[str, Any] = {
        "authorize_url": authorize_url,
        "token_url": token_url,
        "userinfo_url": userinfo_url,
        "jwks_url": jwks_url,
        "issuer": issuer,
        "scopes": scopes.split() if scopes else None,
    }

    async def work(state: Any) -> None:
        from keystile.oauth import registrations

        await _require_project(state, project)
        try:
            await registrations.configure(
                state.conn,
                state.keyring.master,
                state.clock.now(),
                project,
                provider,
                client_id=client_id,
                client_secret=client_secret,
                settings=settings,
            )
        except ValueError as exc:
            raise CommandFailed(str(exc)) from None

    run(work)
    out.print(f"{project}: OAuth client for {provider} set", soft_wrap=True, highlight=False)


@app.command("list")
def list_clients(project: ProjectOption, as_json: JsonOption = False) -> None:
    """The project's OAuth clients (secrets are never printed)."""

    async def work(state: Any) -> list[dict[str, Any]]:
        from keystile.oauth import registrations

        await _require_project(state, project)
        return await registrations.listed(state.conn, project)

    rows = run(work)
    if as_json:
        sys.stdout.write(json.dumps({"clients": rows}) + "\n")
        return
    if not rows:
        out.print(f"{project} has no OAuth clients.", highlight=False)
    for r in rows:
        changed = ", ".join(sorted(r["settings"])) or "keystile's defaults"
        out.print(f"{r['provider']:<11} {r['client_id']}  ({changed})", soft_wrap=True, highlight=False)


@app.command("remove")
def remove_client(
    provider: Annotated[str, typer.Argument(help="The provider whose client to forget.")], project: ProjectOption
) -> None:
    """Forget the project's client at a provider: logins with it stop at once."""

    async def work(state: Any) -> bool:
        from keystile.oauth import registrations

        await _require_project(state, project)
        return await registrations.remove(state.conn, project, provider)

    if not run(work):
        raise CommandFailed(f"{project} has no OAuth client for {provider}.")
    out.print(f"{project}: OAuth client for {provider} removed", highlight=False)
