"""Every service's AsyncAPI document names the topics it consumes."""

from __future__ import annotations

import pytest
import yaml

from ops.docs import KAFKA_SERVICES, asyncapi_yaml
from shared import topics


@pytest.mark.parametrize("kind", KAFKA_SERVICES, ids=lambda k: k.name)
def test_asyncapi_lists_the_consumed_topics(kind):
    spec = yaml.safe_load(asyncapi_yaml(kind))
    addresses = {channel["address"] for channel in spec["channels"].values()}
    literal = {s.name for s in topics.CONSUMES.get(kind.name, []) if s.pattern is None}
    assert literal <= addresses
    assert spec["info"]["title"] == f"DFDG {kind.name}"
