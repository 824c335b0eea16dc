"""`joblog simulate`: a municipality's month on the real platform, with the simulated clock.

- `scenario`: the month generated from a seed (citizens with statuses -- mixed målgrupper,
  `ingen` included, some whose duty ends or starts mid-month, some with fritagelser -- and joblog
  activity: Jobnet opret/ret, a-kasse created, spread over the days); pure, no I/O;
- `messages`: the contract's messages for it;
- `driver`: `simulate()`, which sends them to a running platform day by day through Kafka and
  collects the notices it sent;
- `report`: `SimulationReport` and its table;
- `command`: `simulate_command`, the `joblog simulate` command.
"""
