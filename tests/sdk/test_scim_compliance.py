"""scim2-tester, a SCIM RFC compliance checker, against a keystile SCIM connection: it reads
ServiceProviderConfig, ResourceTypes and Schemas, then creates, reads, queries, replaces,
patches and deletes Users and Groups. No check of a feature keystile declares may fail."""

from __future__ import annotations

import uuid

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

FAILED = {Status.ERROR, Status.CRITICAL}


@pytest.fixture(scope="module")
def results(server):
    from tests.support import call, make_project

    project = make_project(server)
    org = call(
        project,
        "POST",
        "v1/b2b/organizations",
        json={"organization_name": "Acme", "organization_slug": f"acme-{uuid.uuid4().hex[:8]}"},
    ).json()["organization"]
    connection = call(project, "POST", f"v1/b2b/scim/{org['organization_id']}/connection", json={}).json()["connection"]
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
