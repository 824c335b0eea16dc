"""DFDG's MongoDB collections, every name in one place.

The records (the truth):
- `joblog_history`: every accepted version of every joblog; `joblogs`: the current version of
  each (a projection of the history); `beskeder`: the joblog messages handled to the end;
  `udgivet`: markers of status messages whose effects went out.
- `status_messages`, `exemption_messages`: the citizens' status and fritagelse messages.
- `timers`: one advisering timer per citizen; `notices`: every advisering and monthly notice,
  stored before sent; `afsendes` ("being sent"): one marker per group of notices stored and
  not yet known sent, which a starting notifier reads instead of scanning `notices`;
  `maaned_forfald`: the monthly notices' queue (`services.notifier`).
- `access_log`: who read which citizen's data; `clock`: the platform clock; `replays`: the
  replay command's marks.
- `sletninger`: what the retention job deleted (kind, how many, which joblog ids; no content);
  `slettet_aktivitet`: per citizen, up to when his erased joblogs' activity went;
  `sletning_tilstand`: the job's lease and last run.

The read models (derived, `shared.readmodel.updates`; `joblog rebuild` makes them anew):
- `borgere` (per citizen), `aktivitet` (per accepted joblog change, `shared.readmodel.aktivitet`),
  `jobcenter_borgere` (per jobcenter and citizen), `forfald` (the
  notifier's due queue), `udloeb` (the retention job's queue, `shared.contract.retention`).
"""

JOBLOG_HISTORY = "joblog_history"
JOBLOGS = "joblogs"
FINISHED = "beskeder"
PUBLISHED = "udgivet"
STATUS_MESSAGES = "status_messages"
EXEMPTION_MESSAGES = "exemption_messages"
TIMERS = "timers"
NOTICES = "notices"
SENDING = "afsendes"
MAANED_QUEUE = "maaned_forfald"
ACCESS_LOG = "access_log"
CLOCK = "clock"
REPLAYS = "replays"

CITIZENS = "borgere"
ACTIVITY = "aktivitet"
MEMBERS = "jobcenter_borgere"
DUE_QUEUE = "forfald"

DELETIONS = "sletninger"
ERASED_ACTIVITY = "slettet_aktivitet"
RETENTION_STATE = "sletning_tilstand"
RETENTION_QUEUE = "udloeb"
