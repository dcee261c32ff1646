"""Fixtures for the example apps: each is loaded from its folder by path (the folder names
have dashes) and configured against the test server and a fresh project."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.flows import new_email

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# The test project allows http://localhost:3000/authenticate for every redirect type, so
# an app served at http://localhost:3000 needs no extra redirect URL.
APP_URL = "http://localhost:3000"


def load_example(folder: str) -> ModuleType:
    """Import examples/<folder>/app.py under a module name of its own."""
    name = "example_" + folder.replace("-", "_")
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / folder / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def example_config(project: Any) -> dict[str, str]:
    return {
        "KEYSTILE_URL": project.server.base_url,
        "STYTCH_PROJECT_ID": project.project_id,
        "STYTCH_SECRET": project.secret,
        "APP_URL": APP_URL,
        "SECRET_KEY": "test-" + uuid.uuid4().hex,
    }


@pytest.fixture
def email() -> str:
    """A fresh address per test: the dev inbox is shared by every test on the server."""
    return new_email()


@pytest.fixture
def client(app: Any) -> Any:
    """Flask's test client for the module's `app` fixture."""
    return app.test_client()


def send_link(client: Any, inbox: Any, email: str) -> str:
    """Post the example's login form; return the emailed link."""
    resp = client.post("/login", data={"email": email})
    assert resp.status_code == 200, resp.text
    return inbox.latest_link(email)


def open_link(client: Any, link: str) -> Any:
    """Follow the emailed link into the app the way the browser would."""
    return client.get("/authenticate?" + urlsplit(link).query)
