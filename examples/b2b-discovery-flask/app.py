"""A B2B discovery login in Flask, talking to keystile through the official Stytch SDK.

The flow of Stytch's B2B backend quickstart: email a discovery magic link, authenticate
it to an intermediate session, let the person pick one of their organizations (or create
one), then keep the member session in Flask's session cookie and check it on every
protected page with `sessions.authenticate`. An organization that requires MFA answers with
another intermediate session instead: the member enrols a TOTP (or types a code from the one
they have, or a recovery code) and `totps.authenticate` completes the login.

Run it with `flask --app app run` (see README.md); tests build it with `create_app(config)`.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any
from urllib.parse import urljoin

import stytch
from flask import Flask, abort, redirect, render_template, request, session, url_for
from stytch.core.response_base import StytchError

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG_KEYS = ("KEYSTILE_URL", "STYTCH_PROJECT_ID", "STYTCH_SECRET", "APP_URL")


def config_from_env() -> dict[str, str]:
    """The app's settings from the environment (KEYSTILE_URL defaults to a local `keystile serve`)."""
    config = {key: os.environ[key] for key in CONFIG_KEYS if key in os.environ}
    config.setdefault("KEYSTILE_URL", "http://127.0.0.1:4010/")
    config.setdefault("APP_URL", "http://localhost:5000")
    if "FLASK_SECRET_KEY" in os.environ:
        config["SECRET_KEY"] = os.environ["FLASK_SECRET_KEY"]
    missing = [key for key in ("STYTCH_PROJECT_ID", "STYTCH_SECRET") if key not in config]
    if missing:
        raise RuntimeError(f"Set {', '.join(missing)} (from `keystile projects create`).")
    return config


def slugify(name: str) -> str:
    """An organization slug from its name: lowercase letters, digits and dashes."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug if len(slug) >= 2 else f"org-{secrets.token_hex(3)}"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; `config` needs STYTCH_PROJECT_ID and STYTCH_SECRET, and may set
    KEYSTILE_URL, APP_URL and SECRET_KEY (read from the environment when omitted)."""
    config = dict(config if config is not None else config_from_env())
    app = Flask(__name__, root_path=HERE)
    app.secret_key = config.get("SECRET_KEY") or secrets.token_hex(32)

    base_url = config.get("KEYSTILE_URL", "http://127.0.0.1:4010/").rstrip("/") + "/"
    app_url = config.get("APP_URL", "http://localhost:5000").rstrip("/") + "/"
    # The SDK treats any `environment` other than "test"/"live" as the API's base URL.
    client = stytch.B2BClient(config["STYTCH_PROJECT_ID"], config["STYTCH_SECRET"], environment=base_url)
    app.extensions["stytch"] = client
    discovery_redirect_url = urljoin(app_url, "authenticate")

    def sign_in(resp: Any) -> Any:
        """After an exchange or a create: the member session, or, when the organization
        requires MFA, an intermediate session for this member: ask for the second factor."""
        if resp.member_authenticated:
            return keep_session(resp)
        session["intermediate_session_token"] = resp.intermediate_session_token
        session["mfa_member"] = {"organization_id": resp.organization.organization_id, "member_id": resp.member_id}
        options = resp.mfa_required.member_options if resp.mfa_required else None
        enrolled = bool(options and options.totp_registration_id)
        return redirect(url_for("mfa_code" if enrolled else "mfa_enroll"))

    def keep_session(resp: Any) -> Any:
        """Keep the member session in Flask's session cookie, then go to the dashboard."""
        session.pop("intermediate_session_token", None)
        session.pop("mfa_member", None)
        session["session_token"] = resp.session_token
        session["session_jwt"] = resp.session_jwt
        return redirect(url_for("dashboard"))

    def pending_mfa() -> dict[str, str] | None:
        """The member waiting for a second factor: organization_id, member_id and the
        intermediate session, or None (then the person starts again)."""
        member, ist = session.get("mfa_member"), session.get("intermediate_session_token")
        return {**member, "intermediate_session_token": ist} if member and ist else None

    def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = session.get("session_token")
            if not token:
                return redirect(url_for("index"))
            try:
                resp = client.sessions.authenticate(session_token=token)
            except StytchError:
                session.clear()
                return redirect(url_for("index"))
            session["session_jwt"] = resp.session_jwt
            return view(resp, *args, **kwargs)

        return wrapper

    @app.get("/")
    def index() -> Any:
        return render_template("login.html")

    @app.post("/login")
    def login() -> Any:
        email = request.form.get("email", "").strip()
        if not email:
            return render_template("login.html", error="Enter your email address."), 400
        try:
            client.magic_links.email.discovery.send(email_address=email, discovery_redirect_url=discovery_redirect_url)
        except StytchError as exc:
            return render_template("login.html", error=exc.details.error_message), exc.details.status_code
        return render_template("check_email.html", email=email)

    @app.get("/authenticate")
    def authenticate() -> Any:
        token_type = request.args.get("stytch_token_type")
        token = request.args.get("token")
        if token_type != "discovery" or not token:
            return render_template("error.html", message="This link is not a discovery login link."), 400
        try:
            resp = client.magic_links.discovery.authenticate(discovery_magic_links_token=token)
        except StytchError as exc:
            return render_template("error.html", message=exc.details.error_message), exc.details.status_code
        session.clear()
        session["intermediate_session_token"] = resp.intermediate_session_token
        session["email"] = resp.email_address
        return redirect(url_for("organizations"))

    @app.get("/organizations")
    def organizations() -> Any:
        ist = session.get("intermediate_session_token")
        if not ist:
            return redirect(url_for("index"))
        try:
            resp = client.discovery.organizations.list(intermediate_session_token=ist)
        except StytchError:
            session.clear()
            return redirect(url_for("index"))
        discovered = [d for d in resp.discovered_organizations if d.organization is not None]
        return render_template("organizations.html", email=resp.email_address, discovered=discovered)

    @app.post("/organizations/select")
    def select_organization() -> Any:
        ist = session.get("intermediate_session_token")
        organization_id = request.form.get("organization_id")
        if not ist:
            return redirect(url_for("index"))
        if not organization_id:
            abort(400)
        try:
            resp = client.discovery.intermediate_sessions.exchange(
                intermediate_session_token=ist, organization_id=organization_id, session_duration_minutes=60
            )
        except StytchError as exc:
            return render_template("error.html", message=exc.details.error_message), exc.details.status_code
        return sign_in(resp)

    @app.post("/organizations/create")
    def create_organization() -> Any:
        ist = session.get("intermediate_session_token")
        name = request.form.get("organization_name", "").strip()
        if not ist:
            return redirect(url_for("index"))
        if not name:
            return render_template("error.html", message="Give the organization a name."), 400
        try:
            resp = client.discovery.organizations.create(
                intermediate_session_token=ist,
                organization_name=name,
                organization_slug=slugify(name),
                mfa_policy="REQUIRED_FOR_ALL" if request.form.get("require_mfa") else "OPTIONAL",
                session_duration_minutes=60,
            )
        except StytchError as exc:
            return render_template("error.html", message=exc.details.error_message), exc.details.status_code
        return sign_in(resp)

    @app.get("/mfa/enroll")
    def mfa_enroll() -> Any:
        """A member without TOTP: a new registration's QR code and its recovery codes, shown
        once. Reloading the page replaces the registration until a code verifies it."""
        pending = pending_mfa()
        if not pending:
            return redirect(url_for("index"))
        try:
            totp = client.totps.create(**pending)
        except StytchError as exc:
            return render_template("error.html", message=exc.details.error_message), exc.details.status_code
        return render_template(
            "mfa_enroll.html", qr_code=totp.qr_code, secret=totp.secret, recovery_codes=totp.recovery_codes
        )

    @app.get("/mfa")
    def mfa_code() -> Any:
        if not pending_mfa():
            return redirect(url_for("index"))
        return render_template("mfa_code.html")

    @app.post("/mfa")
    def mfa_authenticate() -> Any:
        """A code from the authenticator app (`totps.authenticate`) turns the intermediate
        session into a member session holding both factors."""
        pending = pending_mfa()
        if not pending:
            return redirect(url_for("index"))
        try:
            resp = client.totps.authenticate(
                **pending, code=request.form.get("code", "").strip(), session_duration_minutes=60
            )
        except StytchError as exc:
            return render_template("mfa_code.html", error=exc.details.error_message), exc.details.status_code
        return keep_session(resp)

    @app.get("/mfa/recovery")
    def mfa_recovery() -> Any:
        if not pending_mfa():
            return redirect(url_for("index"))
        return render_template("mfa_code.html", recovery=True)

    @app.post("/mfa/recovery")
    def mfa_recover() -> Any:
        """A recovery code (`recovery_codes.recover`) stands in for the authenticator; each
        works once."""
        pending = pending_mfa()
        if not pending:
            return redirect(url_for("index"))
        try:
            resp = client.recovery_codes.recover(
                **pending, recovery_code=request.form.get("recovery_code", "").strip(), session_duration_minutes=60
            )
        except StytchError as exc:
            status = exc.details.status_code
            return render_template("mfa_code.html", recovery=True, error=exc.details.error_message), status
        return keep_session(resp)

    @app.get("/dashboard")
    @login_required
    def dashboard(resp: Any) -> Any:
        return render_template(
            "dashboard.html", member=resp.member, organization=resp.organization, member_session=resp.member_session
        )

    @app.get("/logout")
    def logout() -> Any:
        token = session.get("session_token")
        session.clear()
        if token:
            # Already expired or revoked: the person is logged out either way.
            with contextlib.suppress(StytchError):
                client.sessions.revoke(session_token=token)
        return redirect(url_for("index"))

    return app


if __name__ == "__main__":
    create_app().run(port=5000, debug=True)
