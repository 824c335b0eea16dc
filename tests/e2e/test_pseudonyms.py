"""The cpr pseudonyms in the real service processes' logs: the keyed HMAC with the platform's
key (the one `joblog infra up` keeps in the platform credentials file), the same citizen giving
the same pseudonym in every process; never the unkeyed sha256 anyone could reverse."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime, timedelta

from harness import ids, jobnet, new_cpr, status
from shared.cluster.credentials import load
from shared.contract import topics


async def test_the_logs_carry_the_platforms_keyed_pseudonym(stack, processes, e2e_settings):
    key = load(e2e_settings.platform_credentials_file)["pseudonym"]
    cpr, log_id = new_cpr(), ids()
    await stack.send(topics.CITIZEN_STATUS, status(cpr, date.today() - timedelta(days=3)))
    await stack.settle()  # a member of 067, which offers joblog: storage logs the snapshot
    await stack.send(topics.JOBNET_INBOUND, jobnet("opret", cpr, log_id, datetime.now(UTC)))
    await stack.wait_for(topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") == log_id)
    logs = processes.log_of("storage")
    keyed = "cpr#" + hmac.new(key.encode(), cpr.encode(), hashlib.sha256).hexdigest()[:10]
    plain = "cpr#" + hashlib.sha256(cpr.encode()).hexdigest()[:10]
    assert f"{log_id} v1 opret from jobnet for {keyed}" in logs
    assert plain not in logs and cpr not in logs
