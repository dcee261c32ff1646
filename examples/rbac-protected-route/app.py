"""A protected API route in Flask that checks an RBAC permission with the official Stytch SDK.

Every request carries the member's session JWT (`Authorization: Bearer <session_jwt>`).
`sessions.authenticate_jwt` verifies it against keystile's JWKS and, given an
`authorization_check`, decides locally from the RBAC policy the SDK fetched from keystile
(`rbac.policy` plus the organization's custom roles) — most requests never reach keystile.

    GET    /orgs/<organization_id>/documents        needs documents:read
    DELETE /orgs/<organization_id>/documents/<id>   needs documents:delete
    POST   /orgs/<organization_id>/invites          invites as the member: keystile checks
                                                    stytch.member:create for that session

Run it with `flask --app app run` (see README.md); tests build it with `create_app(config)`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

import stytch
from flask import Flask, g, jsonify, request
from stytch.b2b.models.magic_links_email import InviteRequestOptions
from stytch.b2b.models.sessions import AuthorizationCheck
from stytch.core.response_base import StytchError
from stytch.shared.method_options import Authorization
from stytch.shared.rbac_local import RBACPermissionError, TenancyError

DOCUMENTS = {"doc-1": "Quarterly plan", "doc-2": "Launch checklist"}


def config_from_env() -> dict[str, str]:
    config = {k: os.environ[k] for k in ("KEYSTILE_URL", "STYTCH_PROJECT_ID", "STYTCH_SECRET") if k in os.environ}
    config.setdefault("KEYSTILE_URL", "http://127.0.0.1:4010/")
    missing = [k for k in ("STYTCH_PROJECT_ID", "STYTCH_SECRET") if k not in config]
    if missing:
        raise RuntimeError(f"Set {', '.join(missing)} (from `keystile projects create`).")
    return config


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    config = dict(config if config is not None else config_from_env())
    app = Flask(__name__)
    base_url = config.get("KEYSTILE_URL", "http://127.0.0.1:4010/").rstrip("/") + "/"
    client = stytch.B2BClient(config["STYTCH_PROJECT_ID"], config["STYTCH_SECRET"], environment=base_url)
    app.extensions["stytch"] = client

    def requires_permission(resource_id: str, action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Let the view run only for a member of `organization_id` allowed `action` on `resource_id`."""

        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            @wraps(view)
            def wrapper(organization_id: str, *args: Any, **kwargs: Any) -> Any:
                scheme, _, session_jwt = request.headers.get("Authorization", "").partition(" ")
                if scheme.lower() != "bearer" or not session_jwt:
                    return jsonify(error="Send the session JWT as `Authorization: Bearer …`."), 401
                check = AuthorizationCheck(
                    organization_id=organization_id,
                    resource_id=resource_id,
                    action=action,
                )
                try:
                    resp = client.sessions.authenticate_jwt(session_jwt=session_jwt, authorization_check=check)
                except TenancyError:
                    return jsonify(error="You are not a member of this organization."), 403
                except RBACPermissionError:
                    return jsonify(error=f"You may not {action} {resource_id}."), 403
                except StytchError as exc:
                    status = 403 if exc.details.status_code == 403 else 401
                    return jsonify(error=exc.details.error_message), status
                g.member_session = resp.member_session
                g.session_jwt = session_jwt
                return view(organization_id, *args, **kwargs)

            return wrapper

        return decorate

    @app.get("/orgs/<organization_id>/documents")
    @requires_permission("documents", "read")
    def list_documents(organization_id: str) -> Any:
        return jsonify(documents=sorted(DOCUMENTS), member_id=g.member_session.member_id)

    @app.delete("/orgs/<organization_id>/documents/<document_id>")
    @requires_permission("documents", "delete")
    def delete_document(organization_id: str, document_id: str) -> Any:
        return jsonify(deleted=document_id)

    @app.post("/orgs/<organization_id>/invites")
    @requires_permission("documents", "read")
    def invite(organization_id: str) -> Any:
        """Invite someone as the signed-in member: keystile checks the member's own
        permission (stytch.member:create) because the session travels as a header."""
        email = (request.get_json(silent=True) or {}).get("email_address", "")
        options = InviteRequestOptions(authorization=Authorization(session_jwt=g.session_jwt))
        try:
            resp = client.magic_links.email.invite(
                organization_id=organization_id,
                email_address=email,
                method_options=options,
            )
        except StytchError as exc:
            return jsonify(error=exc.details.error_message, error_type=exc.details.error_type), exc.details.status_code
        return jsonify(invited=resp.member.member_id)

    return app


if __name__ == "__main__":  # pragma: no cover
    create_app().run(port=5001)
