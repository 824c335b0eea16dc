"""The notifier's due queue on the real database, with a tick's sweep and a timer's writer
interleaved at the two points where, without transactions, they race: no timer is left due with
no queue entry (it would never fire)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harness import new_cpr
from services.notifier.advisering import MODTAGERE, DueNotice, notice_id
from services.notifier.records import TopicOffset
from services.notifier.store import NotifierStore, due_key
from shared.contract import topics

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Interleaved:
    """A collection that runs `first` once, just before the first call of `method`."""

    def __init__(self, collection: Any, method: str, first: Callable[[], Awaitable[None]]) -> None:
        self._collection = collection
        self._method = method
        self._first: Callable[[], Awaitable[None]] | None = first

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._collection, name)
        if name != self._method or self._first is None:
            return target
        first, self._first = self._first, None

        async def call(*args: Any, **kwargs: Any) -> Any:
            await first()
            return await target(*args, **kwargs)

        return call


@pytest.fixture
async def store(platform: Any) -> AsyncIterator[NotifierStore]:
    db = platform.mongo[f"duequeue_{uuid.uuid4().hex[:8]}"]
    try:
        yield NotifierStore(db)
    finally:
        await platform.mongo.drop_database(db.name)


async def queue(store: NotifierStore) -> list[tuple[str, str]]:
    return [entry async for batch in store.due(NOW + timedelta(days=400)) for entry in batch]


async def test_a_sweep_between_adding_the_entry_and_pointing_the_timer_loses_nothing(store):
    """The sweep finds the new entry before the timer points to it, and drops it as stale."""
    cpr, due = new_cpr(), NOW - timedelta(days=10)  # due at once (a status from the past)
    sweep = lambda: store.drop_if_stale(due_key(due, cpr), cpr)  # noqa: E731
    store.timers = Interleaved(store.timers, "find_one_and_update", sweep)
    await store.set_due(cpr, due)
    assert (await store.timer(cpr)).due.replace(tzinfo=UTC) == due
    assert await queue(store) == [(due_key(due, cpr), cpr)]


async def test_a_writer_between_the_sweeps_read_and_its_delete_loses_nothing(store):
    """The sweep reads a timer not yet pointing to an entry; the writer points it there and
    finishes; then the sweep deletes the entry."""
    cpr, before, due = new_cpr(), NOW + timedelta(days=30), NOW - timedelta(days=10)
    await store.set_due(cpr, before)
    await store._enqueue(due, cpr)  # the writer's first step, as the sweep finds it
    writer = lambda: store.set_due(cpr, due)  # noqa: E731
    store.queue = Interleaved(store.queue, "delete_one", writer)
    await store.drop_if_stale(due_key(due, cpr), cpr)
    assert await queue(store) == [(due_key(due, cpr), cpr)]


async def test_a_fired_timer_moved_on_keeps_one_entry(store):
    cpr, due = new_cpr(), NOW - timedelta(days=1)
    await store.set_due(cpr, due)
    timer = await store.claim(cpr, NOW, "me", NOW, NOW + timedelta(seconds=60))
    assert timer is not None
    later = NOW + timedelta(days=30)
    assert await store.release(timer, later, due)
    assert await queue(store) == [(due_key(later, cpr), cpr)]


# -- the sweep's bulk steps -----------------------------------------------------------------


async def test_two_claims_of_the_same_chunk_take_each_timer_once(store):
    cprs = sorted(new_cpr() for _ in range(4))
    for cpr in cprs:
        await store.set_due(cpr, NOW - timedelta(days=1))
    until = NOW + timedelta(seconds=60)
    first, _ = await store.claim_many(cprs[:3], NOW, "a", NOW, until)
    second, held = await store.claim_many(cprs, NOW, "b", NOW, until)
    assert sorted(first) == cprs[:3] and sorted(second) == cprs[3:]
    assert sorted(held) == cprs[:3]
    lapsed, _ = await store.claim_many(cprs, NOW, "c", until + timedelta(seconds=1), until)
    assert sorted(lapsed) == cprs


async def test_a_writer_between_the_bulk_drops_read_and_its_delete_loses_nothing(store):
    """As for one entry: the sweep has read a timer not yet pointing to the entry; the writer
    points it there and finishes; then the sweep's bulk delete removes the entry, and its read
    after puts it back."""
    cpr, other = new_cpr(), new_cpr()
    before, due = NOW + timedelta(days=30), NOW - timedelta(days=10)
    await store.set_due(cpr, before)
    await store._enqueue(due, cpr)
    await store._enqueue(due, other)  # stale: no timer at all
    _, timers = await store.claim_many([cpr, other], NOW, "me", NOW, NOW)
    writer = lambda: store.set_due(cpr, due)  # noqa: E731
    store.queue = Interleaved(store.queue, "delete_many", writer)
    await store.drop_stale([(due_key(due, cpr), cpr), (due_key(due, other), other)], timers)
    assert await queue(store) == [(due_key(due, cpr), cpr)]


async def test_a_chunk_released_in_bulk_keeps_one_entry_each_and_reports_the_recomputed(store):
    cprs = sorted(new_cpr() for _ in range(3))
    due = NOW - timedelta(days=1)
    for cpr in cprs:
        await store.set_due(cpr, due)
    claimed, _ = await store.claim_many(cprs, NOW, "me", NOW, NOW + timedelta(seconds=60))
    recomputed = NOW + timedelta(days=3)
    await store.set_due(cprs[0], recomputed)  # a change recomputed it while it fired
    later = NOW + timedelta(days=30)
    missed = await store.release_many([(claimed[cpr], later, due) for cpr in cprs])
    assert [t.cpr for t in missed] == [cprs[0]]
    entries = await queue(store)
    assert sorted(entries) == sorted(
        [(due_key(recomputed, cprs[0]), cprs[0])] + [(due_key(later, cpr), cpr) for cpr in cprs[1:]]
    )
    for cpr in cprs:
        timer = await store.timer(cpr)
        assert timer is not None and timer.lease is None
        assert timer.last_notified_due is not None
        assert timer.last_notified_due.replace(tzinfo=UTC) == due


async def test_a_sweep_between_a_batchs_entries_and_its_timers_loses_nothing(store):
    """A batch's writer: the sweep finds the new entries before the timers point to them and
    drops them as stale; the writer adds them again after pointing the timers."""
    cprs = sorted(new_cpr() for _ in range(3))
    due = NOW - timedelta(days=10)

    async def sweep() -> None:
        _, timers = await store.claim_many(cprs, NOW, "sweep", NOW, NOW)
        await store.drop_stale([(due_key(due, cpr), cpr) for cpr in cprs], timers)

    store.timers = Interleaved(store.timers, "bulk_write", sweep)
    await store.set_due_many(dict.fromkeys(cprs, due), {})
    assert await queue(store) == [(due_key(due, cpr), cpr) for cpr in cprs]
    later = NOW + timedelta(days=5)
    await store.set_due_many(dict.fromkeys(cprs, later), await store.timers_of(cprs))
    assert await queue(store) == [(due_key(later, cpr), cpr) for cpr in cprs]


async def test_each_stored_notice_keeps_the_offsets_of_its_own_topic_only(store):
    """A chunk's notices go to many topics (the citizen's and each jobcenter's); each stored
    notice carries the checkpoint of its own topic's partitions, never the others' (98
    jobcentres' topics in every document made FerretDB's inserts and updates 20 times dearer)."""
    cpr = new_cpr()
    notices = [
        DueNotice(
            notice_id(cpr, NOW, modtager), modtager, cpr, kode, "dagpenge", None, 30, NOW, NOW
        )
        for modtager, kode in zip(MODTAGERE, ("147", "101"), strict=True)
    ]
    wanted = [topics.NOTICES_BORGER, topics.jobcenter_notices("101")]
    checkpoint = [
        TopicOffset(topic, part, 10 * part + 1)
        for topic in [*wanted, topics.jobcenter_notices("147")]
        for part in range(3)
    ]
    pending, before = await store.add_pending(notices, checkpoint)
    assert not before and len(pending) == 2
    for stored, topic in zip(pending, wanted, strict=True):
        doc = await store.notices.find_one({"_id": stored.id})
        assert {m["topic"] for m in doc["checkpoint"]} == {topic}
        assert [m["partition"] for m in doc["checkpoint"]] == [0, 1, 2]
        assert {m.topic for m in stored.checkpoint} == {topic}


async def test_a_starting_notifier_finds_the_unmarked_notices_through_their_markers(store):
    """`pending` reads the markers (`afsendes`), not every notice: the group of notices stored
    by one `add_pending` is found until all are marked; then `settled` removes its marker,
    and a marker whose notices are all published is removed by the next `pending`."""
    first, second = new_cpr(), new_cpr()

    def pair(cpr: str) -> list[DueNotice]:
        return [
            DueNotice(notice_id(cpr, NOW, m), m, cpr, "101", "dagpenge", None, 30, NOW, NOW)
            for m in MODTAGERE
        ]

    stored, _ = await store.add_pending(pair(first), [])
    ids = {s.id for s in stored}
    assert ids <= {s.id for s in await store.pending()}  # a crash now: found at start
    await store.mark_published(sorted(ids)[:1])
    assert {s.id for s in await store.pending()} & ids == set(sorted(ids)[1:])
    await store.mark_published(ids)
    await store.settled(pair(first))
    assert not await store.sending.find_one({"_id": min(ids)})
    assert not ({s.id for s in await store.pending()} & ids)

    others, _ = await store.add_pending(pair(second), [])  # marked, then a crash before settled
    await store.mark_published(s.id for s in others)
    marker = min(s.id for s in others)
    assert await store.sending.find_one({"_id": marker})
    assert not ({s.id for s in await store.pending()} & {s.id for s in others})
    assert not await store.sending.find_one({"_id": marker})  # removed by that read
