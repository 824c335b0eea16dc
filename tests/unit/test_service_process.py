"""A service process collects its garbage less often than Python's default (`services.__main__`):
a batch makes tens of thousands of short-lived objects."""

from __future__ import annotations

import gc

from services.__main__ import GC_THRESHOLDS, collect_less_often


def test_a_service_process_collects_the_young_generation_after_50000_new_objects():
    before = gc.get_threshold()
    try:
        collect_less_often()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert GC_THRESHOLDS[0] >= 50_000 > before[0]
    finally:
        gc.set_threshold(*before)
