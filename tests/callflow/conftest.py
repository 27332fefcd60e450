"""Every call-flow test also checks the flow's moves against its table (`FLOW_TABLE`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


class _Violations(logging.Handler):
    """Collects the flow's "not in the table" errors, from whatever thread they come."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "flow_table_violation", None) is not None:
            self.found.append(record.getMessage())


@pytest.fixture(autouse=True)
def flow_moves_follow_the_table() -> Iterator[_Violations]:
    """Fails a test in which a call session made a move `FLOW_TABLE` does not allow (a test
    that provokes one on purpose takes this fixture and empties `found`)."""
    watch = _Violations()
    logger = logging.getLogger("console.callflow")
    logger.addHandler(watch)
    try:
        yield watch
    finally:
        logger.removeHandler(watch)
    if watch.found:
        pytest.fail("moves outside the flow's table:\n" + "\n".join(watch.found), pytrace=False)
