"""The benchmark results are committed, say what was measured on what, and the figures quoted in
docs/design.md are those of the files (not figures typed in by hand)."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"


def result(name: str) -> dict:
    record: dict = json.loads((RESULTS / f"{name}.json").read_text())
    for key in ("benchmark", "at", "machine", "cpus"):
        assert record.get(key), f"{name}.json has no {key}"
    return record


def test_the_throughput_result_has_the_issues_keys_and_is_the_readmes():
    record, readme = result("throughput"), (ROOT / "docs" / "design.md").read_text()
    assert record["changes"] == record["jobnet_creates"] + record["akasse_edits"] > 0
    assert record["drain_changes"] == record["changes"]
    assert record["services"].startswith("processes") and record["commit"]
    assert len(record["awaited_outbound"]) == 2
    for key in ("drain_changes_per_s", "bare_sink_per_s", "drain_vs_bare_sink",
                "latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "steady_offered_per_s",
                "steady_achieved_per_s", "drain_services_cpu_s_per_1000_changes"):  # fmt: skip
        assert f"{record[key]}" in readme, key
    assert f"{record['changes']:,} changes for {record['citizens']:,} citizens" in readme
    assert record["drain_cpu_s_per_1000_changes"] and record["steady_cpu_s_per_1000_changes"]


def test_the_readme_quotes_the_result_files():
    readme = (ROOT / "README.md").read_text()
    throughput, scale = result("throughput"), result("scale")
    assert f"{throughput['drain_changes_per_s']} changes/s" in readme
    assert f"bare sink of the same records {throughput['bare_sink_per_s']}/s" in readme
    assert f"p99 {throughput['latency_p99_ms']} ms" in readme
    assert f"| {scale['sweep_seconds'][1]} s |" in readme
    assert f"| {scale['herd_seconds'][1]} s, each notice once |" in readme
    said = " ".join(readme.split())  # the sentence under the table, wrapped anywhere
    assert f"used {throughput['drain_cpu_share_of_machine']} of both CPUs" in said
    assert (
        f"leave it {throughput['drain_cpu_s_at_target']} CPU s"
        f" where it took {throughput['drain_cpu_s_in_all']}"
    ) in said


def test_the_udsoegning_memory_result_is_flat_and_the_readmes():
    record, readme = result("udsoegning_memory"), (ROOT / "docs" / "design.md").read_text()
    n = record["n"]
    assert record["extraction_growth_4x_citizens"] < record["max_growth"] <= 1.5
    assert record[f"citizens_{4 * n}_rows"] == 4 * record[f"citizens_{n}_rows"] == 4 * n
    assert f"N={n}" in readme and f"growth {record['extraction_growth_4x_citizens']}" in readme
    for key in (f"citizens_{n}_extraction_peak_kib", f"citizens_{4 * n}_extraction_peak_kib"):
        assert f"{record[key]:,} KiB" in readme or f"{record[key]:,} for" in readme, key


def test_the_scale_result_has_the_issues_keys_and_is_the_readmes_table():
    from bench.scale import readme_table

    record, readme = result("scale"), (ROOT / "docs" / "design.md").read_text()
    for key in ("sizes", "udsoegning_seconds", "udsoegning_rows", "udsoegning_peak_mib",
                "as_of_seconds", "sweep_seconds", "notices_sent", "write_per_s_empty",
                "write_per_s_full", "growth_udsoegning_4x"):  # fmt: skip
        assert key in record, key
    small, large = record["sizes"]
    assert large == 4 * small
    rows = record["udsoegning_rows"]
    assert 3.5 < rows[1] / rows[0] < 4.5  # a quarter of 101's citizens each time
    assert readme_table(record) in readme
    assert f"`growth_udsoegning_4x` {record['growth_udsoegning_4x']}" in readme


def test_the_drains_cpu_budget_counts_every_process_from_its_start():
    from bench.throughput.drain import budget

    done = {"storage": 9.0, "jobnet-adapter": 3.0, "kafka": 12.0, "ferretdb": 30.0}
    start = {"storage": 0.0, "jobnet-adapter": 0.0, "kafka": 10.0, "ferretdb": 20.0}
    figures = budget(done, start, 1.0, ["storage", "jobnet-adapter"], 10.0, 20_000, 0.5)
    # the services from their launch (12), Kafka's and FerretDB's drain (2 + 10), the bench (1)
    assert figures["drain_cpu_s_in_all"] == 25.0
    assert figures["drain_cpu_s_services_with_start"] == 12.0
    assert figures["drain_machine_busy_share"] == 0.5
    cpus = figures["drain_cpu_s_at_target"] / 10.0  # 20,000 changes at 2,000/s: 10 s
    assert figures["drain_cpu_share_of_machine"] == round(25.0 / (cpus * 10.0), 3)


def test_the_throughput_result_says_where_the_machines_cpu_went():
    record, design = result("throughput"), (ROOT / "docs" / "design.md").read_text()
    for key in ("drain_cpu_s_in_all", "drain_cpu_share_of_machine", "drain_cpu_s_at_target"):
        assert f"{record[key]}" in design, key
