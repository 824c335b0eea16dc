"""The monthly notices' handlers (the rule's decisions are `services/notifier/maaned.py`):

- a batch of citizens' changes makes sure of the current month's frister of those covered (one
  insert, from the facts the advisering's recomputation read);
- a tick fires the monthly queue's due entries a chunk at a time, in bulk: one claim and read
  back of the entries, one read of the citizens' facts, the rule in memory, the notices stored,
  sent and marked together (`notices.send`, the adviseringer' outbox), then the next month's
  entries added and the fired ones removed (one insert, one delete). A herd (every covered
  citizen due at the same month's end) is thus a few round trips per chunk of 500.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from services.notifier import maaned, notices
from services.notifier.ports import NotifierPorts
from shared.contract.maanedlig import OMFATTET
from shared.readmodel.facts import Facts


async def make_sure(facts: Iterable[Facts], ports: NotifierPorts) -> None:
    """The current month's frister of the citizens covered now or later (one insert; no clock
    read nor write when none of them ever had a covered målgruppe)."""
    covered = [f for f in facts if any(p.maalgruppe in OMFATTET for p in f.periods)]
    if not covered:
        return
    now = await ports.clock.now()
    days = ports.paamindelse_days
    await ports.maaned.add(
        frist for f in covered for frist in maaned.ved_aendring(f.cpr, f.periods, now, days)
    )


async def fire_due(now: datetime, ports: NotifierPorts) -> int:
    """Fire every monthly entry due at `now`, a chunk at a time; returns the notices sent."""
    sent = 0
    async for chunk in ports.maaned.due_chunks(now):
        sent += await fire_chunk(chunk, now, ports)
    return sent


async def fire_chunk(chunk: list[maaned.Frist], now: datetime, ports: NotifierPorts) -> int:
    """A chunk of due entries in bulk. Exactly once: the notices have deterministic ids and are
    stored before they are sent; an entry is removed only after its notice was marked sent and
    the next month's entries were added, so a crash anywhere leaves it leased, and the sweep
    after the lease lapsed fires it again and finds its notice (sent, or looked up in the topic
    and sent only if missing). Entries another instance holds are left to it."""
    wall = ports.wall_clock()
    claimed, token = await ports.maaned.claim(chunk, ports.owner, wall, wall + ports.lease)
    if not claimed:
        return 0
    facts_of = await ports.facts.facts_many(sorted({frist.cpr for frist in claimed}))
    due: list[maaned.MaanedNotice] = []
    following: list[maaned.Frist] = []
    for frist in claimed:
        facts = facts_of[frist.cpr]
        sent, queued = maaned.affyr(
            frist, facts.periods, facts.exemptions, facts.oprettet, now, ports.paamindelse_days
        )
        due += sent
        following += queued
    if due:
        await notices.send(due, ports)
    await ports.maaned.done(claimed, token, following)
    return len(due)
