"""`keystile impersonate`: mint an impersonation token, as Stytch's dashboard does with its
"Impersonate Member" / "Impersonate User" buttons (stytch.com/docs/multi-tenant-auth/authentication/user-impersonation).

The token is printed once (keystile keeps only its hash), works once, within 5 minutes, and
only for the project it was minted in. Like the dashboard, the command gives the project's
default login redirect URL with `stytch_token_type` and `token` appended, for the app to
redeem with impersonation.authenticate.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from keystile.cli.common import err, fail, out, run


def impersonate(
    project: Annotated[str, typer.Option("--project", help="The project_id.")],
    impersonator_email: Annotated[
        str,
        typer.Option(
            "--impersonator-email",
            help="Who impersonates: shown in the session's impersonated factor (impersonator_email_address).",
        ),
    ],
    member: Annotated[
        str | None, typer.Option("--member", help="B2B: the member_id (or external_id) to impersonate.")
    ] = None,
    organization: Annotated[
        str | None,
        typer.Option("--organization", help="B2B: the Member's organization (id, slug or external id)."),
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="Consumer: the user_id to impersonate.")] = None,
    impersonator_id: Annotated[
        str | None,
        typer.Option(
            "--impersonator-id",
            help="The impersonator's id in the session (default: derived from --impersonator-email).",
        ),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why, for the record (kept with the token, not in the session).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
) -> None:
    """Mint a single-use impersonation token for a Member (--member and --organization) or a User
    (--user). It expires in 5 minutes; the session it starts lasts 60 and cannot be extended."""
    b2b = member is not None or organization is not None
    if b2b == (user is not None) or (b2b and (member is None or organization is None)):
        raise fail("Name a Member with --member and --organization, or a User with --user (not both).")

    async def work(state: Any) -> dict[str, Any]:
        from keystile import errors
        from keystile.core import redirect_urls
        from keystile.core.clock import rfc3339
        from keystile.core.context import Context, Project
        from keystile.core.redirect_urls import RedirectType
        from keystile.impersonation import service
        from keystile.projects import repository as projects_repo

        row = await projects_repo.find_project(state.conn, project)
        if row is None:
            raise service.CannotImpersonate(f"No project {project}.")
        ctx = Context(
            state=state,
            conn=state.conn,
            project=Project.from_row(row),
            request_id="cli",
        )
        if b2b:
            minted = await service.mint_for_member(
                ctx,
                organization or "",
                member or "",
                impersonator_email=impersonator_email,
                impersonator_id=impersonator_id,
                reason=reason,
            )
            token_type = "multi_tenant_impersonation"
        else:
            minted = await service.mint_for_user(
                ctx, user or "", impersonator_email=impersonator_email, impersonator_id=impersonator_id, reason=reason
            )
            token_type = "impersonation"
        try:
            login = await redirect_urls.resolve(state.conn, project, None, RedirectType.LOGIN)
            url = redirect_urls.with_params(login, stytch_token_type=token_type, token=minted.token)
        except errors.StytchError:  # no default login redirect URL: the token alone
            url = None
        return {
            "token": minted.token,
            "stytch_token_type": token_type,
            "expires_at": rfc3339(minted.expires_at),
            "url": url,
            **minted.subject,
            "impersonator_id": minted.impersonator["impersonator_id"],
            "impersonator_email_address": minted.impersonator["impersonator_email_address"],
        }

    from keystile.impersonation.service import CannotImpersonate

    try:
        body = run(work)
    except CannotImpersonate as exc:
        raise fail(str(exc)) from None
    if as_json:
        sys.stdout.write(json.dumps(body) + "\n")
        return
    subject = body.get("user_id") or f"{body['member_id']} of {body['organization_id']}"
    endpoint = "/v1/b2b/impersonation/authenticate" if b2b else "/v1/impersonation/authenticate"
    err.print(
        f"Impersonation token for {subject}, as {body['impersonator_email_address']}: "
        f"single use, expires {body['expires_at']} (5 minutes). Shown once."
    )
    out.print(body["token"], soft_wrap=True)
    if body["url"]:
        err.print("Open it at the project's default login redirect URL:")
        out.print(body["url"], soft_wrap=True)
    err.print(f"Your app redeems it with impersonation.authenticate (POST {endpoint}).")
