"""Fixtures: a real keystile per database backend, a fresh project per test, SDK clients
pointed at it (sync; the async client has tests/sdk/test_async_sdk.py), and the dev inbox."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import stytch

from tests.idp.oidc import OpenIDProvider, start_oidc_provider
from tests.support import (
    CLUSTER_SCOPES,
    CLUSTERS,
    IN_CI,
    Inbox,
    ProjectInfo,
    Server,
    fresh_postgres_url,
    make_project,
    postgres_reachable,
    start_server,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        action="append",
        choices=["sqlite", "postgres"],
        help="Run only against these databases (default: both, PostgreSQL when reachable).",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("backend") or ["sqlite", "postgres"]
        metafunc.parametrize("backend", chosen, scope="session")


_servers: dict[str, Server] = {}


@pytest.fixture(scope="session")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One running keystile per backend for the whole run."""
    if backend not in _servers:
        data_dir = tmp_path_factory.mktemp(f"keystile-{backend}")
        if backend == "postgres":
            if not postgres_reachable():
                if IN_CI:
                    pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432; CI needs it")
                pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
            url = fresh_postgres_url(f"keystile_test_{os.getpid()}")
        else:
            url = f"sqlite:///{data_dir / 'keystile.db'}"
        _servers[backend] = start_server(backend, data_dir, url)
    yield _servers[backend]


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadscope` (a class's or a module's tests on one worker), except that the
    tests running whole clusters (tests/support.py CLUSTER_SCOPES) are one unit, handed
    out first. They take minutes and one cluster runs at a time: handed out by test count,
    as loadscope does, they came last, and one worker waited for the other's cluster with
    nothing else left to run. Handed out first, they run one after another on one worker
    while the other works through the rest.

    `--dist loadgroup` with `xdist_group` marks cannot say this here: pytest-xdist 3.8
    names the group in `item._nodeid`, which pytest 9 no longer reads, so every test
    becomes a unit of its own."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ClustersFirst(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return CLUSTERS if scope in CLUSTER_SCOPES else scope

        def _assign_work_unit(self, node: Any) -> None:
            if CLUSTERS in self.workqueue:
                self.workqueue.move_to_end(CLUSTERS, last=False)
            super()._assign_work_unit(node)

    return ClustersFirst(config, log)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for running in _servers.values():
        running.stop()


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OpenIDProvider]:
    """panva's oidc-provider on a loopback port, one per test process: register the clients
    and accounts a test needs on it (tests/idp/oidc.py; docs/testing.md)."""
    with start_oidc_provider() as running:
        yield running


@pytest.fixture
def project(server: Server) -> ProjectInfo:
    """A fresh project (its own secret, keys and default redirect URL) for each test."""
    return make_project(server)


@pytest.fixture
def other_project(server: Server) -> ProjectInfo:
    return make_project(server)


@pytest.fixture
def inbox(server: Server) -> Inbox:
    return Inbox(server.base_url)


@pytest.fixture
def b2b(project: ProjectInfo) -> Iterator[Any]:
    """stytch.B2BClient against keystile, its plain (sync) methods. The `_async` methods are
    proven once per endpoint in tests/sdk/test_async_sdk.py instead of by every test."""
    with requests.Session() as session:
        yield stytch.B2BClient(
            project.project_id, project.secret, environment=project.server.base_url, sync_session=session
        )


@pytest.fixture
def consumer(project: ProjectInfo) -> Iterator[Any]:
    """stytch.Client against keystile, its plain (sync) methods (async: test_async_sdk.py)."""
    with requests.Session() as session:
        yield stytch.Client(
            project.project_id, project.secret, environment=project.server.base_url, sync_session=session
        )


@pytest.fixture
def http(project: ProjectInfo) -> Any:
    """A requests session with the project's Basic auth, for what the SDK hides."""
    session = requests.Session()
    session.auth = project.auth
    session.base_url = project.server.base_url  # type: ignore[attr-defined]
    return session


@pytest.fixture(autouse=True)
def _restore_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test may move the server's clock; the next test starts at real time again, so
    JWTs it gets verify against the SDK's own (real) clock."""
    if "server" not in request.fixturenames:
        yield
        return
    running: Server = request.getfixturevalue("server")
    offset = running.clock.offset
    yield
    running.clock.offset = offset
