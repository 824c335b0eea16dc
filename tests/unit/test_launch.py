"""`joblog run --instances N`: N processes of each service, none sharing a port or a log."""

from __future__ import annotations

from ops.launch import METRICS_STRIDE, SERVICES, instances_of


def test_instances_have_their_own_names_ports_and_the_same_platform():
    env = {"JOBLOG_METRICS_PORT_BASE": "46100", "JOBLOG_API_PORT": "46150", "MONGODB_DATABASE": "x"}
    started = instances_of(3)
    assert len(started) == 3 * len(SERVICES)
    names = [instance.name for instance in started]
    assert len(set(names)) == len(names) and "storage-3" in names
    urls = [url for instance in started if (url := instance.ready_url(env))]
    assert len(urls) == len(started) == len(set(urls))  # every instance asked on its own port
    ports = {int(url.split(":")[2].split("/")[0]) for url in urls}
    assert ports <= set(range(46100, 46100 + 3 * METRICS_STRIDE)) | {46150, 46151, 46152}
    for instance in started:
        assert instance.env(env)["MONGODB_DATABASE"] == "x"  # one platform, one database
    [single] = [i for i in instances_of(1) if i.service == "storage"]
    assert single.name == "storage"
    assert single.ready_url(env) == "http://127.0.0.1:46102/health/ready"
