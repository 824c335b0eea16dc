"""CPR validation after the contract: a real date DDMMYY, century from digit 7, no modulus 11."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.contract.cpr import InvalidCpr, birth_date, is_valid_cpr, mask


@pytest.mark.parametrize(
    ("cpr", "born"),
    [
        ("0101901234", date(1990, 1, 1)),  # digit 7 = 1: 1900s
        ("3112993999", date(1999, 12, 31)),  # digit 7 = 3: 1900s
        ("0101054000", date(2005, 1, 1)),  # 4 and YY <= 36: 2000s
        ("0101374000", date(1937, 1, 1)),  # 4 and YY > 36: 1900s
        ("0101369000", date(2036, 1, 1)),  # 9 and YY <= 36: 2000s
        ("0101379000", date(1937, 1, 1)),  # 9 and YY > 36: 1900s
        ("0101575000", date(2057, 1, 1)),  # 5-8 and YY <= 57: 2000s
        ("0101588000", date(1858, 1, 1)),  # 5-8 and YY > 57: 1800s
        ("2902005000", date(2000, 2, 29)),  # a leap day in 2000
    ],
)
def test_the_century_follows_digit_7(cpr: str, born: date) -> None:
    assert birth_date(cpr) == born


def test_numbers_without_a_modulus_11_check_digit_are_valid() -> None:
    # 0101901235: weighted sum not divisible by 11, still a valid number since 2007
    weights = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
    cpr = "0101901235"
    assert sum(int(d) * w for d, w in zip(cpr, weights, strict=True)) % 11 != 0
    assert is_valid_cpr(cpr)


@pytest.mark.parametrize(
    "cpr",
    [
        "3102901234",  # 31 February
        "2902011234",  # 29 February 1901
        "2902014000",  # 29 February 2001
        "0013901234",  # month 13
        "0001901234",  # day 0
        "010190-1234",  # with a dash
        "010190123",  # 9 digits
        "01019012345",  # 11 digits
        "01019O1234",  # a letter
        "０１０１９０１２３４",  # non-ASCII digits
        "",
    ],
)
def test_impossible_numbers_are_rejected(cpr: str) -> None:
    assert not is_valid_cpr(cpr)
    with pytest.raises(InvalidCpr):
        birth_date(cpr)


def test_non_strings_are_not_cpr_numbers() -> None:
    assert not is_valid_cpr(101901234)
    assert not is_valid_cpr(None)


@given(st.dates(date(1858, 1, 1), date(2057, 12, 31)), st.integers(0, 999))
def test_every_date_has_a_valid_number_giving_it_back(born: date, serial: int) -> None:
    yy = born.year % 100
    if born.year < 1900:
        digit7 = 5
    elif born.year < 2000:
        digit7 = 0
    else:
        digit7 = 4 if yy <= 36 else 5
    cpr = f"{born:%d%m}{yy:02d}{digit7}{serial:03d}"
    assert birth_date(cpr) == born


def test_mask_is_stable_and_hides_the_number() -> None:
    assert mask("0101901234") == mask("0101901234")
    assert mask("0101901234") != mask("0101901235")
    assert "0101901234" not in mask("0101901234")


# 29 February 1900: 1900 was no leap year (divisible by 100, not by 400), 2000 was.
@pytest.mark.parametrize("digit7", "0123")
def test_29_february_1900_is_not_a_date(digit7: str) -> None:
    cpr = f"290200{digit7}123"
    assert not is_valid_cpr(cpr)
    with pytest.raises(InvalidCpr, match="real date"):
        birth_date(cpr)


@pytest.mark.parametrize("digit7", "456789")
def test_29_february_00_with_digit_4_to_9_is_2000_a_leap_year(digit7: str) -> None:
    assert birth_date(f"290200{digit7}123") == date(2000, 2, 29)


@pytest.mark.parametrize(
    ("cpr", "born"),
    [
        ("2902961234", date(1996, 2, 29)),  # 1900s leap year
        ("2902364000", date(2036, 2, 29)),  # 4 and YY 36: 2036, a leap year
        ("2902965000", date(1896, 2, 29)),  # 5-8 and YY > 57: 1896, a leap year
        ("2902565000", date(2056, 2, 29)),  # 5-8 and YY <= 57: 2056, a leap year
    ],
)
def test_other_leap_days(cpr: str, born: date) -> None:
    assert birth_date(cpr) == born


@pytest.mark.parametrize(
    "cpr",
    [
        "2902374000",  # 4 and YY 37: 1937, not a leap year
        "2902979000",  # 9 and YY 97: 1997
        "2902585000",  # 5-8 and YY 58: 1858
    ],
)
def test_leap_day_in_a_year_that_is_not_leap(cpr: str) -> None:
    assert not is_valid_cpr(cpr)
