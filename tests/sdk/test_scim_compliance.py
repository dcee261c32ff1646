"""scim2-tester, a SCIM RFC compliance checker, against a keystile SCIM connection: it reads
ServiceProviderConfig, ResourceTypes and Schemas, then creates, reads, queries, replaces,
patches and deletes Users and Groups. No check of a feature keystile declares may fail."""

from __future__ import annotations

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from tests.scim_client import http_connection

FAILED = {Status.ERROR, Status.CRITICAL}


@pytest.fixture(scope="module")
def results(server):
    connection = http_connection(server)
    http = httpx2.Client(
        base_url=connection["base_url"] + "/",
        headers={"Authorization": f"Bearer {connection['bearer_token']}"},
        timeout=30,
    )
    try:
        return check_server(SyncSCIMClient(http))
    finally:
        http.close()


def test_no_check_fails(results):
    failed = [f"{r.resource_type or ''} {r.title}: {r.reason}" for r in results if r.status in FAILED]
    assert not failed, "\n".join(failed)


def test_users_and_groups_went_through_every_operation(results):
    passed = {(r.resource_type, tag) for r in results if r.status == Status.SUCCESS for tag in r.tags}
    for resource in ("User", "Group"):
        for tag in ("crud:create", "crud:read", "crud:update", "crud:delete"):
            assert (resource, tag) in passed, (resource, tag)
