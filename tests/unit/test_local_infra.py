"""The local launcher's pure parts."""

from __future__ import annotations

from infra import local


def test_redacted_hides_only_the_password() -> None:
    url = "mongodb://dfdg:s3cr%2Ft@127.0.0.1:27017/?authSource=admin"
    assert local.redacted(url) == "mongodb://dfdg:***@127.0.0.1:27017/?authSource=admin"
    assert local.redacted("mongodb://127.0.0.1:27017/") == "mongodb://127.0.0.1:27017/"
    assert local.redacted("mongodb://dfdg@mongo:27017/") == "mongodb://dfdg@mongo:27017/"
