"""The result: the commit measured and docs/design.md's paragraph of a result."""

from __future__ import annotations

import subprocess
import textwrap
from typing import Any

from bench.throughput.drain import TARGET_PER_S
from bench.throughput.profile import ROOT


def commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, check=True
        )
        # a result file written before is not a change of the code measured
        status = ["git", "status", "--porcelain", "--untracked-files=no", "--", ":!bench/results"]
        dirty = subprocess.run(status, cwd=ROOT, capture_output=True, check=True).stdout.strip()
        return out.stdout.decode().strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def readme_paragraph(r: dict[str, Any]) -> str:
    """docs/design.md's paragraph of a result (tests/unit/test_bench_results.py holds its
    figures equal to the file's)."""
    prof = r["drain_profile"]
    packages = ", ".join(f"{n} {round(100 * v)}%" for n, v in prof.get("top_packages_self", [])[:6])
    tops = ", ".join(f"`{n}` {round(100 * v)}%" for n, v in prof.get("top_self", [])[:4])
    inclusive = ", ".join(f"`{n}` {round(100 * v)}%" for n, v in prof.get("top_inclusive", [])[:4])
    sampled = "the thread holding the GIL" if prof.get("gil_only") else "idle threads left out"
    cpu = r["drain_cpu_s_per_1000_changes"]
    services = ", ".join(
        f"{n} {cpu[n]}" for n in ("storage", "notifier", "jobnet-adapter", "akasse-adapter")
    )
    bounds = ""
    if r.get("latency_lower_bounds"):
        bounds = (
            f" (lower bounds: {r['steady_answered']:,} of {r['steady_changes']:,} were answered "
            "within the wait after the load, the rest count as late as the wait's end)"
        )
    hops = r.get("latency_hops_ms", {})
    stretches = "; ".join(
        f"{name.replace('_', ' ')} p50 {h['p50']} ms, p99 {h['p99']} ms" for name, h in hops.items()
    )
    steps = r.get("drain_storage_batch_step_s", {})
    split = ", ".join(f"{step} {seconds} s" for step, seconds in steps.items())
    by_step = f" Storage's batches in the drain took, by step: {split}." if steps else ""
    began = r.get("duty_began_days_before")
    duty = "" if began is None else f"; the duty began {began} days before: no timer fell due"
    settled = r.get("steady_settled_after_s")
    rest = "" if settled is None else f", started when the drain's tail was done ({settled} s)"
    whole = ""
    if "drain_cpu_s_in_all" in r:
        whole = (
            f" In all the drain took {r['drain_cpu_s_in_all']} CPU s (the services "
            f"{r['drain_cpu_s_services_with_start']} from their start, Kafka, FerretDB, and this "
            f"bench's reading {r['drain_cpu_s_bench']}): {r['drain_cpu_share_of_machine']} of the "
            f"machine's CPUs over its {r['drain_seconds']} s, the machine "
            f"{r['drain_machine_busy_share']} busy (other sessions included); a drain at "
            f"{TARGET_PER_S:,}/s has {r['drain_cpu_s_at_target']} CPU s."
        )
    text = (
        f"Capacity (`bench/results/throughput.json`, {r['at'][:10]}, commit {r['commit']}, 2 CPUs "
        f"shared with other sessions' test runs, load average {r['load_average_1min_at_end']} at "
        f"the end): {r['changes']:,} changes for {r['citizens']:,} citizens "
        f"({r['jobnet_creates']:,} Jobnet creates, {r['akasse_edits']:,} a-kasse edits, "
        f"{r['akasse_edits_merged']:,} of them merged against an older version) drained by the "
        f"service processes at {r['drain_changes_per_s']} changes/s ({r['drain_seconds']} s from "
        "their start until both outbound topics had every answer; "
        f"{r['drain_changes_per_s_after_first_answer']}/s from the first answer on{duty}), "
        "against a "
        f"bare sink of the same records at {r['bare_sink_per_s']}/s in the same run: "
        f"{r['drain_vs_bare_sink']} of it. Jobnet creates offered at "
        f"{r['steady_offered_per_s']}/s (sent at {r['steady_achieved_per_s']}/s) for "
        f"{r['steady_seconds']} s{rest}: latency from the send to the a-kasse's outbound "
        f"answer p50 {r['latency_p50_ms']} ms, p90 {r['latency_p90_ms']} ms, p99 "
        f"{r['latency_p99_ms']} ms"
        f"{bounds} (by hop, from the records' Kafka timestamps: {stretches}); the platform "
        f"answered {r['steady_answered_per_s']}/s. CPU in the drain: "
        f"{r['drain_services_cpu_s_per_1000_changes']} s per 1,000 changes in the services "
        f"({services}), Kafka {cpu['kafka']} and FerretDB {cpu['ferretdb']} besides. The "
        f"busiest service, {prof.get('process')}, had its samples (py-spy, {sampled}) in "
        f"{packages}; on top of the stack {tops}; inclusive {inclusive}.{by_step}{whole}"
    )
    return textwrap.fill(
        text, 96, initial_indent="- ", subsequent_indent="  ", break_on_hyphens=False
    )
