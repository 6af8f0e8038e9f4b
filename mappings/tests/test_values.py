"""Coercions behind the type hints, and the names policies."""

from __future__ import annotations

import pytest

from map_brevo import values as v


@pytest.mark.parametrize(("raw", "expected"), [
    ("2024-02-29", "2024-02-29"),
    ("2024-02-29T23:30:00-05:00", "2024-02-29"),  # the date as written, in its own offset
    ("2024-01-18 12:00:00 +00:00", "2024-01-18"),
    (1700000000000, "2023-11-14"),
    ("1700000000", "2023-11-14"),
])
def test_to_date(raw, expected):
    assert v.to_date(raw) == expected


@pytest.mark.parametrize("raw", ["2023-02-29", "2024-02-30", "2024-13-01", "2024-01-01T25:00:00Z", "yesterday", True, None])
def test_to_date_refuses_impossible_dates(raw):
    with pytest.raises(ValueError, match="not a"):
        v.to_date(raw)


@pytest.mark.parametrize(("raw", "expected"), [
    ("2026-11-21T08:00:00+01:00", "2026-11-21T08:00:00+01:00"),
    ("2026-11-21T08:00:00Z", "2026-11-21T08:00:00+00:00"),
    ("2026-11-21 08:00:00 +01:00", "2026-11-21T08:00:00+01:00"),
    ("2026-11-21T08:00:00.123Z", "2026-11-21T08:00:00.123000+00:00"),
    (1700000000, "2023-11-14T22:13:20+00:00"),
    (1700000000123, "2023-11-14T22:13:20.123000+00:00"),
])
def test_to_datetime(raw, expected):
    assert v.to_datetime(raw) == expected


@pytest.mark.parametrize("raw", ["2026-02-30T08:00:00+01:00", "2026-11-21T08:00", "soon", [1]])
def test_to_datetime_refuses(raw):
    if raw == "2026-11-21T08:00":  # a naive timestamp is valid ISO 8601
        assert v.to_datetime(raw) == "2026-11-21T08:00:00"
        return
    with pytest.raises(ValueError, match="not a"):
        v.to_datetime(raw)


def test_number_boolean_text():
    assert v.to_number("12") == 12
    assert v.to_number(" 1.5 ") == 1.5
    for bad in ("n/a", True, "nan", "inf", None):
        with pytest.raises(ValueError, match="not a"):
            v.to_number(bad)
    assert v.to_boolean("Yes") is True
    assert v.to_boolean(0) is False
    with pytest.raises(ValueError, match="not a boolean"):
        v.to_boolean("maybe")
    assert v.to_text(False) == "false"
    assert v.to_text(2.5) == "2.5"
    assert v.to_text({"a": [1]}) == '{"a":[1]}'


def test_names():
    assert v.snake_case("Viewed Product") == "viewed_product"
    assert v.snake_case("addToCart") == "add_to_cart"
    assert v.snake_case("wishlist.Add") == "wishlist_add"
    assert v.clean_keys({"$value": 1, "a b": [{"$x": {"ü": 2}}]}) == {"value": 1, "a_b": [{"x": {"_": 2}}]}


def test_paths_distinguish_missing_from_null():
    g = v.getter("a.b.c")
    assert g({"a": {"b": {"c": 1}}}) == 1
    assert g({"a": {"b": None}}) is None
    assert g({"a": {}}) is v.MISSING
    assert g({}) is v.MISSING
    assert v.coalesce(["x", "y"])({"x": None, "y": 2}) == 2
    assert v.coalesce(["x", "y"])({"x": None}) is None
    assert v.coalesce(["x", "y"])({}) is v.MISSING
