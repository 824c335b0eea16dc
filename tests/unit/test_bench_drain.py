"""The drain benchmark leaves no services behind when it fails."""

from __future__ import annotations

import pytest

from bench.throughput.drain import stopped_on_failure


class Services:
    def __init__(self) -> None:
        self.stopped = 0

    def stop(self) -> None:
        self.stopped += 1


def test_a_failed_drain_stops_the_services_it_started():
    services = Services()
    with pytest.raises(SystemExit), stopped_on_failure(services):
        raise SystemExit("401 rejected")
    assert services.stopped == 1


def test_a_drain_that_succeeds_hands_its_running_services_on():
    services = Services()
    with stopped_on_failure(services):
        pass
    assert services.stopped == 0  # the steady load runs on them next
