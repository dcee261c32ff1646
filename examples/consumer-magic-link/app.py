"""A consumer email magic-link login in Flask, talking to keystile through the official
Stytch SDK.

The flow of Stytch's consumer Python quickstart: `login_or_create` emails a login (or
sign-up) link, `/authenticate` trades its token for a 60-minute session, and every
protected page checks the session JWT with `sessions.authenticate` (falling back to the
session token when there is no JWT).

Run it with `flask --app app run` (see README.md); tests build it with `create_app(config)`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

import stytch
from flask import Flask, redirect, render_template, request, session, url_for
from stytch.core.response_base import StytchError

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG_KEYS = ("KEYSTILE_URL", "STYTCH_PROJECT_ID", "STYTCH_SECRET", "APP_URL")
SESSION_MINUTES = 60


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


def primary_email(user: Any) -> str:
    return user.emails[0].email if user.emails else ""


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; `config` needs STYTCH_PROJECT_ID and STYTCH_SECRET, and may set
    KEYSTILE_URL, APP_URL and SECRET_KEY (read from the environment when omitted)."""
    config = dict(config if config is not None else config_from_env())
    app = Flask(__name__, root_path=HERE)
    app.secret_key = config.get("SECRET_KEY") or secrets.token_hex(32)

    base_url = config.get("KEYSTILE_URL", "http://127.0.0.1:4010/").rstrip("/") + "/"
    app_url = config.get("APP_URL", "http://localhost:5000").rstrip("/") + "/"
    # The SDK treats any `environment` other than "test"/"live" as the API's base URL.
    client = stytch.Client(config["STYTCH_PROJECT_ID"], config["STYTCH_SECRET"], environment=base_url)
    app.extensions["stytch"] = client
    magic_link_url = urljoin(app_url, "authenticate")

    def current_session() -> Any | None:
        """The authenticated session, by JWT when we have one, else by token; None if it is gone."""
        jwt, token = session.get("session_jwt"), session.get("session_token")
        if not jwt and not token:
            return None
        try:
            if jwt:
                resp = client.sessions.authenticate(session_jwt=jwt)
            else:
                resp = client.sessions.authenticate(session_token=token)
        except StytchError:
            session.clear()
            return None
        # A JWT older than its five-minute lifetime comes back refreshed.
        session["session_jwt"] = resp.session_jwt
        session["session_token"] = resp.session_token
        return resp

    @app.get("/")
    def index() -> Any:
        return redirect(url_for("dashboard" if session.get("session_token") else "login"))

    @app.get("/login")
    def login() -> Any:
        return render_template("login.html")

    @app.post("/login")
    def send_link() -> Any:
        email = request.form.get("email", "").strip()
        if not email:
            return render_template("login.html", error="Enter your email address."), 400
        try:
            resp = client.magic_links.email.login_or_create(
                email=email, login_magic_link_url=magic_link_url, signup_magic_link_url=magic_link_url
            )
        except StytchError as exc:
            return render_template("login.html", error=exc.details.error_message), exc.details.status_code
        return render_template("check_email.html", email=email, new_user=resp.user_created)

    @app.get("/authenticate")
    def authenticate() -> Any:
        token_type = request.args.get("stytch_token_type", "magic_links")
        token = request.args.get("token")
        if token_type != "magic_links" or not token:
            return render_template("error.html", message="This link is not a magic link."), 400
        try:
            resp = client.magic_links.authenticate(token=token, session_duration_minutes=SESSION_MINUTES)
        except StytchError as exc:
            return render_template("error.html", message=exc.details.error_message), exc.details.status_code
        session.clear()
        session["session_token"] = resp.session_token
        session["session_jwt"] = resp.session_jwt
        return redirect(url_for("dashboard"))

    @app.get("/dashboard")
    def dashboard() -> Any:
        resp = current_session()
        if resp is None:
            return redirect(url_for("login"))
        return render_template(
            "dashboard.html", user=resp.user, email=primary_email(resp.user), user_session=resp.session
        )

    @app.get("/logout")
    def logout() -> Any:
        token = session.get("session_token")
        session.clear()
        if token:
            # Already expired or revoked: the person is logged out either way.
            with contextlib.suppress(StytchError):
                client.sessions.revoke(session_token=token)
        return redirect(url_for("login"))

    return app


if __name__ == "__main__":
    create_app().run(port=5000, debug=True)
