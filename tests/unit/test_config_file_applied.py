"""A config file applied at start-up says in one log line which file it was and what it changed."""

from __future__ import annotations

import asyncio
import logging

import pytest

from keystile.app import prepare
from keystile.config import Settings
from keystile.core.state import make_state

CONFIG = """[[projects]]
project_id = "project-test-00000000-0000-0000-0000-00000000c0f1"
secret = "secret-test-fixed-for-ci-0123"
name = "ci"

[[projects.redirect_urls]]
url = "http://localhost:8000/authenticate"
types = ["login", "discovery"]
default = true
"""


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def log_lines():
    handler, logger = Lines(), logging.getLogger("keystile")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def start(settings: Settings) -> None:
    async def once() -> None:
        state = make_state(settings)
        try:
            await prepare(state)
        finally:
            await state.engine.dispose()

    asyncio.run(once())


def test_the_log_line_names_the_file_and_what_changed(tmp_path, log_lines):
    config = tmp_path / "keystile.toml"
    config.write_text(CONFIG)
    settings = Settings(env="dev", data_dir=tmp_path, config_file=config, auto_migrate=True)
    start(settings)
    (first,) = [line for line in log_lines if line.startswith("applied config file")]
    assert first == (
        f"applied config file {config}: created project project-test-00000000-0000-0000-0000-00000000c0f1; "
        "project-test-00000000-0000-0000-0000-00000000c0f1: redirect URLs now "
        "http://localhost:8000/authenticate (discovery, login, default)"
    )
    log_lines.clear()
    start(settings)
    assert [line for line in log_lines if line.startswith("applied")] == [
        f"applied config file {config}: database already matched it"
    ]
    config.write_text(CONFIG.replace('name = "ci"', 'name = "ci 2"'))
    log_lines.clear()
    start(settings)
    assert [line for line in log_lines if line.startswith("applied")] == [
        f"applied config file {config}: project-test-00000000-0000-0000-0000-00000000c0f1: set name"
    ]
