from __future__ import annotations

import pytest

from shared.contract.kommuner import KOMMUNER, is_kommunekode


def test_there_are_98_three_digit_kommunekoder() -> None:
    assert len(KOMMUNER) == 98
    assert all(len(code) == 3 and code.isdigit() for code in KOMMUNER)


@pytest.mark.parametrize("code", ["101", "147", "400", "751", "851", "860"])
def test_known_codes(code: str) -> None:
    assert is_kommunekode(code)


@pytest.mark.parametrize("code", ["100", "102", "411", "999", "000", "1010", "10", "", "abc"])
def test_unknown_codes(code: str) -> None:
    assert not is_kommunekode(code)
