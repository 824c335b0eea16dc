"""What the services share, in five parts, each below the ones before it in the imports:

- `contract`: the external contract as code, pure: topics, the canonical events, refusals and
  their reason codes, CPR, kommuner, time, the citizen's and the joblog's rules;
- `frontends`: the front ends' formats (Jobnet's, the a-kasser's) and the adapters' handlers;
- `readmodel`: the read models' updates, their writer, the readers of facts and joblogs, the
  database's collections;
- `platform`: what a service process runs on (the runtime, Kafka, the database, the clock,
  settings, the services' registry, ports, health, logging, the a-kasse register);
- `cluster`: administering the cluster (the parties' grants, credentials, provisioning).
"""
