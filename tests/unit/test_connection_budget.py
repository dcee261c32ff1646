"""KEYSTILE_DATABASE_CONNECTIONS: how a process's PostgreSQL budget is split, and that the
setting refuses a budget no process can work with."""

import pytest
from pydantic import ValidationError

from keystile.config import Settings
from keystile.core.db import split_connections


@pytest.mark.parametrize("total", [2, 3, 4, 10, 12, 15, 30, 100])
def test_the_two_pools_add_up_to_the_budget_and_neither_is_empty(total):
    transactions, reads = split_connections(total)

    assert transactions + reads == total
    assert transactions >= 1 and 1 <= reads <= 8


def test_the_default_budget_is_22_for_transactions_and_8_for_reads():
    assert split_connections(Settings().database_connections) == (22, 8)


def test_a_budget_under_two_connections_is_refused(monkeypatch):
    monkeypatch.setenv("KEYSTILE_DATABASE_CONNECTIONS", "1")

    with pytest.raises(ValidationError, match="database_connections"):
        Settings()
