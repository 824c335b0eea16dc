"""The local launcher's pure parts."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import pytest

from infra import ferretdb, local, processes


def test_redacted_hides_only_the_password() -> None:
    url = "mongodb://dfdg:s3cr%2Ft@127.0.0.1:27017/?authSource=admin"
    assert local.redacted(url) == "mongodb://dfdg:***@127.0.0.1:27017/?authSource=admin"
    assert local.redacted("mongodb://127.0.0.1:27017/") == "mongodb://127.0.0.1:27017/"
    assert local.redacted("mongodb://dfdg@mongo:27017/") == "mongodb://dfdg@mongo:27017/"


def test_a_pid_file_counts_only_for_a_live_process_we_started(tmp_path) -> None:
    """A stale pid file must not delay a start: a pid that is gone, a zombie, or a live
    process that is not the profile's (a reused pid) is not running."""
    profile = local.Profile("unit", 1, 2, 3)
    pidfile = tmp_path / "kafka.pid"
    other = subprocess.Popen(["sleep", "30"])
    sleep = "import time; time.sleep(30)"
    ours = subprocess.Popen([sys.executable, "-c", sleep, str(profile.run_dir)])
    dead = subprocess.Popen(["true"])
    try:
        pidfile.write_text(str(other.pid))
        assert processes.read_pid(pidfile, profile.run_dir) is None  # alive, but not ours
        pidfile.write_text(str(ours.pid))
        assert processes.read_pid(pidfile, profile.run_dir) == ours.pid
        deadline = time.monotonic() + 5
        while processes.proc_state(dead.pid) != "Z":  # exited, not reaped yet: a zombie
            assert time.monotonic() < deadline
            time.sleep(0.01)
        pidfile.write_text(str(dead.pid))
        assert processes.read_pid(pidfile, profile.run_dir) is None  # and reaped on the way
        assert processes.proc_state(dead.pid) is None
        ours.kill()
        ours.wait()
        pidfile.write_text(str(ours.pid))
        assert processes.read_pid(pidfile, profile.run_dir) is None
    finally:
        for process in (other, ours):
            process.kill()
            process.wait()


def test_a_profile_of_ones_own_needs_both_ports() -> None:
    assert local.profile_named("dev") is local.PROFILES["dev"]
    mine = local.profile_named("mine", 46092, 28017)
    assert (mine.kafka_port, mine.controller_port, mine.tls_port, mine.mongo_port) == (
        46092, 46093, 46094, 28017,
    )  # fmt: skip
    for wrong in (("mine", 46092, None), ("dev", 46092, 28017), ("../x", 1, 2)):
        with pytest.raises(ValueError):
            local.profile_named(*wrong)


def test_the_ferretdb_binary_is_built_again_when_a_patch_changes(tmp_path, monkeypatch) -> None:
    """The cached binary's key covers the wrapper, the added file and every patch file."""
    copy = tmp_path / "ferretdb"
    shutil.copytree(ferretdb.FILES, copy)
    monkeypatch.setattr(ferretdb, "FILES", copy)
    assert ferretdb.patches() and set(ferretdb.patches()) <= set(ferretdb.build_inputs())
    before = ferretdb.cache_key()
    patch = ferretdb.patches()[0]
    patch.write_text(patch.read_text() + "\n")
    edited = ferretdb.cache_key()
    assert edited != before
    (copy / "patches" / "9999-more.patch").write_text("")
    assert ferretdb.cache_key() not in (before, edited)
