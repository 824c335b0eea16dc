"""Seeds, shown on every run, so that any failure can be reproduced.

One seed per session: `--hypothesis-seed=N` if given, else `JOBLOG_TEST_SEED=N` from the
environment, else a fresh random one. The header of every run prints it
("seed N: repeat this run with --hypothesis-seed=N"), and so does the report of a failed test.

- Hypothesis runs every `@given` test from that seed (so the run is the same again with it; a
  forced seed also means the example database is not replayed), and the `joblog` profile
  prints the `@reproduce_failure` blob of a failure (`print_blob`).
- `random`: the module's generator is seeded before each test from the session seed and the
  test's id, so a test that draws its own seed from it (the udsøgning oracle) draws the same one
  again when the run is repeated with the same seed.
"""

from __future__ import annotations

import os
import random
from collections.abc import Generator, Iterator
from typing import Any

import pytest
from hypothesis import core, settings

SEED_ENV = "JOBLOG_TEST_SEED"
PROFILE = "joblog"
_SEED = pytest.StashKey[int]()

settings.register_profile(PROFILE, print_blob=True)


def _session_seed(config: pytest.Config) -> int:
    given = config.getoption("--hypothesis-seed", default=None) or os.environ.get(SEED_ENV)
    if given is None:
        return random.SystemRandom().randrange(2**32)
    try:
        return int(given)
    except ValueError:
        raise pytest.UsageError(f"the seed must be an integer, not {given!r}") from None


@pytest.hookimpl(trylast=True)  # after Hypothesis's own plugin has read its options
def pytest_configure(config: pytest.Config) -> None:
    seed = _session_seed(config)
    config.stash[_SEED] = seed
    core.global_force_seed = seed  # type: ignore[assignment]  # typed None, meant any seed
    if not config.getoption("--hypothesis-profile", default=None):
        settings.load_profile(PROFILE)


def _rerun(seed: int) -> str:
    return f"seed {seed}: repeat this run with --hypothesis-seed={seed} (or {SEED_ENV}={seed})"


def pytest_report_header(config: pytest.Config) -> str:
    return _rerun(config.stash[_SEED])


@pytest.fixture(autouse=True)
def _seeded_random(request: pytest.FixtureRequest) -> Iterator[None]:
    seed = f"{request.config.stash[_SEED]}:{request.node.nodeid}"
    random.seed(seed)
    request.node.user_properties.append(("random_seed", seed))
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        seed = item.config.stash[_SEED]
        report.sections.append(
            ("seeds", f"{_rerun(seed)}; random.seed({f'{seed}:{item.nodeid}'!r})")
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The seed also at the end, which `-q` (no header) still shows."""
    terminalreporter.write_line(_rerun(terminalreporter.config.stash[_SEED]))
