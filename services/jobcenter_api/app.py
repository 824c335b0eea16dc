"""Jobcenter HTTP API (its own service; it only reads DFDG, so it scales apart from storage).

- GET /v1/jobcentre/{kommunekode}/udsoegning: the CSV udsøgning, streamed in constant memory.
- GET /v1/citizens/{cpr}/joblogs: a citizen's current joblogs, for a front end resynchronising.
- GET /v1/citizens/{cpr}/access-log: who read the citizen's data, for an authorised caller.
OpenAPI at /openapi.json, browsable at /docs. Every request that reads citizens' data is
recorded in the access log.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse

from services.akasse_adapter.mapping import akasse_outbound
from services.jobcenter_api import loader
from services.jobcenter_api.access_log import AccessLog
from services.jobcenter_api.auth import Holder, forbid, holder_of
from services.jobcenter_api.udsoegning import HEADER, Criteria, CriteriaError, rows
from services.jobnet_adapter.mapping import jobnet_outbound
from services.storage.repository import stored_from
from shared.citizen import status_on
from shared.clock import PlatformClock
from shared.cpr import is_valid_cpr
from shared.db import connect
from shared.events import Handling, JoblogChange
from shared.facts import FactsReader
from shared.service import setup_logging
from shared.settings import Settings, get_settings
from shared.tid import day_of, start_of_day

Caller = Annotated[Holder, Depends(holder_of)]


def create_api(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        client, db = connect(settings)
        api.state.db = db
        api.state.clock = PlatformClock(settings.clock, db)
        api.state.access = AccessLog(db)
        await api.state.access.create_indexes()
        yield
        await client.close()

    api = FastAPI(
        title="DFDG jobcenter API",
        version="1",
        description="Udsøgning (CSV) for jobcentres and joblog reads for front ends.",
        lifespan=lifespan,
    )
    api.state.settings = settings
    api.include_router(routes())
    return api


def routes() -> Any:
    from fastapi import APIRouter

    router = APIRouter()

    @router.get(
        "/v1/jobcentre/{kommunekode}/udsoegning",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/csv": {}}, "description": "the CSV udsøgning"}},
    )
    async def udsoegning(
        request: Request,
        kommunekode: str,
        caller: Caller,
        fra: Annotated[str, Query(description="first day, YYYY-MM-DD")],
        til: Annotated[str, Query(description="last day (included), YYYY-MM-DD")],
        maalgruppe: Annotated[str | None, Query(description="only this målgruppe")] = None,
        kun_adviserede: Annotated[bool, Query(description="only citizens advised")] = False,
        as_of: Annotated[
            date | None, Query(description="auditors: the extraction as made on this day")
        ] = None,
    ) -> StreamingResponse:
        if caller.kind != "jobcenter" or caller.ident != kommunekode:
            raise forbid(f"{caller} may not read jobcenter {kommunekode}'s citizens")
        state = request.app.state
        now = await state.clock.now()
        today = day_of(now)
        if as_of is not None and as_of > today:
            raise _unprocessable("as_of may not be after today")
        known_by = now if as_of is None else start_of_day(as_of + timedelta(days=1))
        try:
            criteria = Criteria.parse(
                kommunekode, fra, til, maalgruppe, kun_adviserede, as_of or today
            )
            criteria.validate(state.settings.udsoegning_max_days)
        except CriteriaError as error:
            raise _unprocessable(str(error)) from None
        entry = await state.access.record(
            str(caller), "udsoegning", now, kriterier=_criteria_doc(criteria, as_of)
        )
        return StreamingResponse(
            _csv(state, criteria, known_by, entry, str(caller), now),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="udsoegning-{kommunekode}.csv"'},
        )

    @router.get("/v1/citizens/{cpr}/joblogs")
    async def joblogs(request: Request, cpr: str, caller: Caller) -> list[dict[str, Any]]:
        _check_cpr(cpr)
        if caller.kind != "frontend":
            raise forbid("joblogs are read by front ends")
        state = request.app.state
        now = await state.clock.now()
        if caller.akasse_nr is not None:
            current = status_on(await FactsReader(state.db).timeline(cpr), day_of(now))
            if current is None or current.akasseNr != caller.akasse_nr:
                raise forbid(f"the citizen is not a member of a-kasse {caller.akasse_nr}")
        docs = await state.db.joblogs.find({"cpr": cpr, "slettet": False}).to_list()
        result = []
        for doc in docs:
            change = JoblogChange(
                handling=Handling.OPRET, entry=stored_from(doc), akasseNr=caller.akasse_nr
            )
            result.append(akasse_outbound(change) if caller.akasse_nr else jobnet_outbound(change))
        await state.access.record(str(caller), "joblogs", now, cpr=cpr, raekker=len(result))
        return result

    @router.get("/v1/citizens/{cpr}/access-log")
    async def access_log(request: Request, cpr: str, caller: Caller) -> list[dict[str, Any]]:
        _check_cpr(cpr)
        state = request.app.state
        now = await state.clock.now()
        if caller.kind == "jobcenter":
            current = status_on(await FactsReader(state.db).timeline(cpr), day_of(now))
            if current is None or current.jobcenter != caller.ident:
                raise forbid(f"the citizen is not one of jobcenter {caller.ident}'s citizens")
        elif caller.kind != "revisor":
            raise forbid("the access log is for the citizen's jobcenter and auditors")
        entries = await state.access.of_citizen(cpr)
        await state.access.record(str(caller), "adgangslog", now, cpr=cpr, raekker=len(entries))
        return [{k: v for k, v in entry.items() if k != "_id"} for entry in entries]

    return router


async def _csv(
    state: Any, criteria: Criteria, known_by: datetime, entry: str, holder: str, now: datetime
) -> AsyncIterator[str]:
    """The CSV, a chunk of citizens at a time; the access log gets each chunk's citizens."""
    count, complete = 0, False
    try:
        yield _line(HEADER)
        async for cprs in loader.candidates(state.db, criteria.kommunekode, known_by):
            chunk = list(rows(await loader.facts_of(state.db, cprs, known_by), criteria))
            await state.access.extracted(entry, holder, now, (row.cpr for row in chunk))
            count += len(chunk)
            yield "".join(_line(row.cells()) for row in chunk)
        complete = True
    finally:
        await state.access.finish(entry, count, complete)


def _line(cells: tuple[str, ...]) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerow(cells)
    return out.getvalue()


def _criteria_doc(criteria: Criteria, as_of: date | None) -> dict[str, Any]:
    return {
        "kommunekode": criteria.kommunekode,
        "fra": criteria.fra.isoformat(),
        "til": criteria.til.isoformat(),
        "maalgruppe": criteria.maalgruppe.value if criteria.maalgruppe else None,
        "kun_adviserede": criteria.kun_adviserede,
        "as_of": as_of.isoformat() if as_of else None,
    }


def _check_cpr(cpr: str) -> None:
    if not is_valid_cpr(cpr):
        raise _unprocessable("cpr is not a valid CPR number")


def _unprocessable(message: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, message)


def serve(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    setup_logging(settings)
    uvicorn.run(
        create_api(settings), host=settings.api_host, port=settings.api_port, log_config=None
    )
