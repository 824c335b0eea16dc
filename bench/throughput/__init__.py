"""Joblog capacity: a backlog drained by the real service processes, beside a bare sink of the
same records, then a steady offered load with its latency, and the CPU each process spends.

In one run on the same Kafka and database:

1. Drain. With the services stopped, the citizens are seeded through the platform (status
   messages: members of a-kasse 067, registered as offering a joblog; and one Jobnet-created
   joblog for each joblog the a-kasse will edit), the services are stopped, and a backlog of
   `--changes` changes is put on the inbound topics, each with its party's credentials: 70 %
   Jobnet creates on jobnet.joblog.inbound, 30 % a-kasse edits (JOBLOG_UPDATED) of the seeded
   joblogs on akasse.067.joblog.inbound, each joblog edited twice, both edits based on version
   1, so the second is merged three-way against the first. Then the services are started as
   `joblog run` starts them (`ops.launch.start_services`: one process each, supervised), and
   the time runs from their start until both outbound topics (jobnet.joblog.outbound and
   akasse.067.joblog.outbound) hold an answer for every change (counted by the origin's message
   id): `drain_changes_per_s`. A rejection of any of them stops the run.
2. The bare sink of the same records (the backlog on the inbound topics), before the services
   start: consume in batches of up to 500, one `insert_many` per batch, commit:
   `bare_sink_per_s`, and the platform's share of it, `drain_vs_bare_sink`.
3. Steady load: Jobnet creates offered at `--steady-rate` a second for `--steady-seconds`, paced
   by absolute deadlines (each send queued at its time, not awaited before the next); the
   latency of each from the moment it was handed to the producer to the moment the a-kasse's
   outbound answer was received here: `latency_p50_ms`, `latency_p90_ms`, `latency_p99_ms`.
4. CPU: utime + stime (/proc/<pid>/stat) of each service process, of Kafka and of FerretDB
   (when their pid files are found), per 1,000 changes, during the drain (from the moment every
   service is ready; what starting cost is `startup_cpu_s`) and during the steady load; and a
   py-spy profile (when `py-spy` is installed next to this Python, e.g. `.venv/bin/pip install
   py-spy`) of every service from its first answers to the end of the drain, the busiest one's
   summarised as the functions and packages where its samples fall (samples of the thread
   holding the GIL: a thread waiting in a system call, which a send on a busy machine can be
   for milliseconds, is not using the CPU).

    .venv/bin/python -m bench.throughput                       (the issue's size: 25 minutes
                                                               on today's code here)
    .venv/bin/python -m bench.throughput --changes 2000 --citizens 500 --steady-seconds 10

It writes bench/results/throughput.json (`--no-write`: print only). It uses the Kafka and
database of KAFKA_BOOTSTRAP_SERVERS / MONGODB_URL when both are set (the environment
`joblog infra up --profile NAME --kafka-port P --mongo-port Q` prints), else it starts its own
`bench` profile and stops it at the end.

The modules: `messages` (the backlog), `running` (the service processes, their CPU), `answers`
(the outbound topics read), `drain` (seeding, the backlog, the drain), `bare_sink`, `steady`,
`profile` (py-spy), `result` (docs/design.md's paragraph), `cli` (the options, a whole run) and
`scale_driver` (bench.scale's in-process writes).
"""

from bench.throughput.running import BENCH_PROFILE
from bench.throughput.scale_driver import platform_run

__all__ = ["BENCH_PROFILE", "platform_run"]
