"""The test driver's data: a citizen's cpr is his alone in a test session (tests share one
platform, so two tests' citizens must never be the same person)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from harness import new_cpr
from ops.simulation.scenario import generate
from shared.contract.cpr import birth_date, is_valid_cpr


def test_the_same_draw_twice_gives_two_citizens():
    first, second = new_cpr(random.Random(7)), new_cpr(random.Random(7))
    assert first != second and is_valid_cpr(first) and is_valid_cpr(second)


def test_the_tests_citizens_are_born_before_the_simulations():
    ours = {new_cpr(random.Random(n)) for n in range(2000)}
    assert max(birth_date(c).year for c in ours) <= 1957
    scenario = generate(500, 3, datetime(2026, 1, 5, tzinfo=UTC), 60)
    assert min(birth_date(c).year for c in scenario.cprs) >= 1958
