"""An outage of Kafka or the database is logged once when it starts, summed up at intervals and
once when it ends, not once per retry of the client libraries."""

from __future__ import annotations

import io
import logging

import pytest

from shared.platform.outage import DATABASE, KAFKA, OutageFilter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def logged():
    """A handler like a service's, the filter on a fake clock; yields (clock, filter, text)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    clock = Clock()
    outage_filter = OutageFilter(summary_every=30, quiet_after=10, clock=clock)
    handler.addFilter(outage_filter)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    try:
        yield clock, outage_filter, stream.getvalue
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_a_kafka_outage_is_three_kinds_of_line_not_one_per_retry(logged):
    clock, outage_filter, text = logged
    conn = logging.getLogger("aiokafka")
    fetcher = logging.getLogger("aiokafka.consumer.fetcher")
    ours = logging.getLogger("dfdg.storage")
    ours.info("started")
    for _ in range(75):  # 75 s of an outage at 10 retries a second
        for _ in range(5):
            conn.error("Unable connect to node with id %s: %s", 1, "Connect call failed")
            fetcher.error("Failed fetch messages from 1: NodeNotReadyError: not ready")
        clock.now += 1
        outage_filter.tick()
    ours.info("still logging its own lines")
    clock.now += 10
    outage_filter.tick()
    lines = text().splitlines()
    assert lines[0] == "INFO dfdg.storage: started"
    assert lines[1].startswith("ERROR aiokafka: Kafka unreachable: Unable connect to node")
    assert lines[2:4] == [
        "WARNING dfdg.outage: Kafka unreachable for 30 s, 299 retries",
        "WARNING dfdg.outage: Kafka unreachable for 60 s, 599 retries",
    ]
    assert lines[4] == "INFO dfdg.storage: still logging its own lines"
    end = "WARNING dfdg.outage: Kafka reachable again: unreachable for 74 s, 749 retries"
    assert lines[5] == end
    assert len(lines) == 6
    assert outage_filter.outages == {}


def test_a_new_outage_after_the_end_is_reported_again_and_other_warnings_pass(logged):
    clock, outage_filter, text = logged
    delivery = logging.getLogger("shared.platform.kafka")
    for _ in range(3):
        delivery.warning("transient failure, will retry", extra={"outage": DATABASE})
    logging.getLogger("aiokafka").warning("Topic dfdg.x is not found in cluster metadata")
    clock.now += 11
    outage_filter.tick()
    delivery.warning("transient failure, will retry", extra={"outage": DATABASE})
    delivery.warning("transient failure, will retry", extra={"outage": KAFKA})
    lines = text().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "WARNING shared.platform.kafka",  # the database's outage begins
        "WARNING aiokafka",  # not a connection problem: as it was
        "WARNING dfdg.outage",  # its end
        "WARNING shared.platform.kafka",  # a new one
        "WARNING shared.platform.kafka",  # and Kafka's, apart from the database's
    ]
    assert "the database unreachable: transient failure" in lines[0]
    assert "Topic dfdg.x is not found" in lines[1]
    assert lines[2].endswith("the database reachable again: unreachable for 0 s, 2 retries")
    assert "the database unreachable" in lines[3] and "Kafka unreachable" in lines[4]
