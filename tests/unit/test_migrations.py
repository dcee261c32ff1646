"""Migrations 0003 (the organization domain indexes) and 0004 (the current signing key index), on both databases."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from keystile.config import async_url
from keystile.core import migrate
from tests.support import fresh_postgres_url, postgres_reachable

DOMAIN_INDEXES = {"ix_organizations_allowed_domains", "ix_organizations_claimed_domains"}


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path) -> str:
    if request.param == "postgres":
        if not postgres_reachable():
            pytest.skip("PostgreSQL is not reachable")
        return fresh_postgres_url(f"keystile_mig_{uuid.uuid4().hex[:10]}")
    return f"sqlite:///{tmp_path / 'migrations.db'}"


def index_names(url: str, table: str) -> set[str]:
    async def names() -> set[str]:
        engine = create_async_engine(async_url(url))
        try:
            async with engine.connect() as conn:
                found = await conn.run_sync(lambda sync: inspect(sync).get_indexes(table))
            return {ix["name"] for ix in found}
        finally:
            await engine.dispose()

    return asyncio.run(names())


def organization_indexes(url: str) -> set[str]:
    return index_names(url, "organizations")


def test_postgres_gets_the_domain_indexes_and_sqlite_none(database_url):
    migrate.upgrade(async_url(database_url))
    expected = DOMAIN_INDEXES if database_url.startswith("postgresql") else set()
    assert organization_indexes(database_url) & DOMAIN_INDEXES == expected


def test_downgrade_to_0002_removes_them_and_upgrade_restores_them(database_url):
    url = async_url(database_url)
    migrate.upgrade(url)
    command.downgrade(migrate.alembic_config(url), "0002")
    assert not organization_indexes(database_url) & DOMAIN_INDEXES
    migrate.upgrade(url)
    command.check(migrate.alembic_config(url))


def test_0004_indexes_the_current_signing_key_and_its_downgrade_removes_it(database_url):
    url = async_url(database_url)
    migrate.upgrade(url)
    assert "ix_signing_keys_current" in index_names(database_url, "signing_keys")

    command.downgrade(migrate.alembic_config(url), "0003")
    assert "ix_signing_keys_current" not in index_names(database_url, "signing_keys")

    migrate.upgrade(url)
    command.check(migrate.alembic_config(url))


def column_names(url: str, table: str) -> set[str]:
    async def names() -> set[str]:
        engine = create_async_engine(async_url(url))
        try:
            async with engine.connect() as conn:
                found = await conn.run_sync(lambda sync: inspect(sync).get_columns(table))
            return {column["name"] for column in found}
        finally:
            await engine.dispose()

    return asyncio.run(names())


def test_0006_adds_the_outbox_channel_and_the_sms_country_codes_and_its_downgrade_removes_them(database_url):
    url = async_url(database_url)
    command.upgrade(migrate.alembic_config(url), "0005")
    assert "channel" not in column_names(database_url, "outbox")

    migrate.upgrade(url)
    assert "channel" in column_names(database_url, "outbox")
    assert "sms_country_codes" in column_names(database_url, "projects")
    command.check(migrate.alembic_config(url))

    command.downgrade(migrate.alembic_config(url), "0005")
    assert "channel" not in column_names(database_url, "outbox")
    assert "sms_country_codes" not in column_names(database_url, "projects")
    migrate.upgrade(url)
    command.check(migrate.alembic_config(url))
