"""The access lines' handler: batched inside an event loop, at once otherwise."""

import asyncio
import io
import logging

from keystile.core.observability import AccessRecord, CoalescingStreamHandler, JSONFormatter


def handler() -> tuple[CoalescingStreamHandler, io.StringIO]:
    stream = io.StringIO()
    made = CoalescingStreamHandler(stream)
    made.setFormatter(JSONFormatter())
    return made, stream


def line(route: str, level: int = logging.INFO) -> AccessRecord:
    return AccessRecord(level, "POST", route, 200, 1.5, "request-id-test-1")


async def test_lines_in_a_loop_are_written_together_shortly_after():
    made, stream = handler()
    for route in ("/a", "/b", "/c"):
        made.handle(line(route))

    assert stream.getvalue() == ""
    await asyncio.sleep(CoalescingStreamHandler.FLUSH_SECONDS * 2)
    assert [r for r in ("/a", "/b", "/c") if f'"route":"{r}"' in stream.getvalue()] == ["/a", "/b", "/c"]
    assert stream.getvalue().count("\n") == 3


async def test_a_warning_writes_at_once_with_what_is_pending():
    made, stream = handler()
    made.handle(line("/a"))
    made.handle(line("/b", logging.WARNING))

    assert stream.getvalue().count("\n") == 2


async def test_flush_writes_what_is_pending():
    made, stream = handler()
    made.handle(line("/a"))
    made.flush()

    assert stream.getvalue().count("\n") == 1


def test_outside_an_event_loop_lines_are_written_at_once():
    made, stream = handler()
    made.handle(line("/a"))

    assert stream.getvalue().count("\n") == 1
