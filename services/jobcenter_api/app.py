"""Jobcenter HTTP API (its own service; it only reads DFDG, so it scales apart from storage).

- GET /v1/jobcentre/{kommunekode}/udsoegning: the CSV udsøgning, streamed in constant memory.
- GET /v1/citizens/{cpr}/joblogs: a citizen's current joblogs, for a front end resynchronising.
- GET /v1/citizens/{cpr}/access-log: who read the citizen's data, when and why (each entry its
  holder, wall-clock time, the platform's time under a simulated clock, an extraction's
  criteria), for the citizen's jobcenter and auditors.
OpenAPI at /openapi.json, browsable at /docs, Prometheus metrics at /metrics. Every request under
/v1 is recorded in the access log (with its path and query string): reads and extractions by the
handlers, refused ones (401/403/404/422/429/503, `hvad` "afvist", with the status code) by the
exception handlers; a refusal without a holder only as a bounded sample (`_record_refusal`).
What a caller sends is stored bounded: the path, the query string, the refusal's reason and a
JWT's subject are each cut to LOGGED_MAX (256) characters, the full length recorded beside a
cut one (`<name>_laengde`); no header is stored. An extraction's response names its entry in
the header `X-Adgangslog-Id`. A holder has at most JOBLOG_UDSOEGNING_CONCURRENCY extractions
streaming (services.jobcenter_api.limits). The CSV itself is made by
services.jobcenter_api.extraction, shared with the operator's `joblog udsoegning`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.jobcenter_api import extraction
from services.jobcenter_api.access_log import AccessLog
from services.jobcenter_api.auth import (
    Authenticator,
    Holder,
    auditor_day,
    forbid,
    holder_of,
    known_holder,
    may_extract,
)
from services.jobcenter_api.limits import RETRY_AFTER_SECONDS, ExtractionSlots, SlotResponse
from services.jobcenter_api.udsoegning import CriteriaError
from shared.contract.cpr import is_valid_cpr
from shared.contract.events import Handling, JoblogChange
from shared.contract.tid import day_of
from shared.frontends.akasse import akasse_outbound
from shared.frontends.jobnet import jobnet_outbound
from shared.platform.clock import PlatformClock
from shared.platform.db import connect
from shared.platform.log import setup_logging
from shared.platform.settings import Settings, get_settings
from shared.readmodel.facts import FactsReader
from shared.readmodel.joblogs import JoblogReader

UNPROCESSABLE = 422  # (Starlette renamed the constant; the code is what the contract shows)
TOO_MANY_REQUESTS = 429
LOGGED_MAX = 256  # characters of a caller's text kept in the access log (path, query, reason)
Caller = Annotated[Holder, Depends(holder_of)]


def create_api(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        client, db = connect(settings)
        api.state.db = db
        api.state.clock = PlatformClock(settings.clock, db)
        api.state.access = AccessLog(db, simulated_clock=api.state.clock.simulated)
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
    api.state.auth = Authenticator.from_settings(settings)  # a bad OIDC setup fails here
    api.state.extractions = ExtractionSlots(settings.udsoegning_concurrency)
    api.state.metrics = CollectorRegistry()
    api.state.unauthenticated = Counter(
        "dfdg_api_refused_unauthenticated",
        "Requests under /v1 refused without a holder (sampled in the access log, not filed)",
        ["status"],
        registry=api.state.metrics,
    )
    api.include_router(routes())

    @api.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus metrics of this API process."""
        return Response(generate_latest(api.state.metrics), media_type=CONTENT_TYPE_LATEST)

    @api.exception_handler(StarletteHTTPException)
    async def refused(request: Request, error: StarletteHTTPException) -> Response:
        await _record_refusal(request, error.status_code, error.detail)
        return await http_exception_handler(request, error)

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        await _record_refusal(request, UNPROCESSABLE, "invalid request")
        return await request_validation_exception_handler(request, error)

    return api


async def _record_refusal(request: Request, code: int, reason: object) -> None:
    """A refused request for citizens' data (401, 403, 404, 422, 429, 503) is logged as well:
    who tried (the token's holder), what, which citizen (if the path names a valid one), why
    (bounded like the rest of the request). A request without a holder (no token, an unknown
    one, a refused JWT) is counted (`dfdg_api_refused_unauthenticated_total`) and sampled in
    bounded space as "ukendt", filed under no citizen (`AccessLog.sample_anonymous`): an
    anonymous client can neither grow the database nor fill a citizen's access log."""
    if not request.url.path.startswith("/v1/"):
        return
    state = request.app.state
    holder = known_holder(request)
    details = {"status": code, **_bounded("aarsag", str(reason)), **_request_doc(request)}
    if holder is None:
        state.unauthenticated.labels(str(code)).inc()
        await state.access.sample_anonymous(await state.clock.now(), **details)
        return
    cpr = request.path_params.get("cpr")
    await state.access.record(
        str(holder),
        "afvist",
        await state.clock.now(),
        cpr=cpr if isinstance(cpr, str) and is_valid_cpr(cpr) else None,
        **details,
    )


def _request_doc(request: Request) -> dict[str, Any]:
    """The request as recorded in the access log: its path and query string (bounded), and the
    subject of a JWT (the person behind the holder)."""
    doc = {**_bounded("sti", request.url.path), **_bounded("forespoergsel", request.url.query)}
    subject = getattr(request.state, "subject", None)
    if subject:
        doc.update(_bounded("bruger", subject))
    return doc


def _bounded(name: str, text: str) -> dict[str, Any]:
    """`name`: the text, cut to LOGGED_MAX characters; a cut one has its length beside it."""
    if len(text) <= LOGGED_MAX:
        return {name: text}
    return {name: text[:LOGGED_MAX], f"{name}_laengde": len(text)}


def routes() -> Any:
    from fastapi import APIRouter

    router = APIRouter()

    @router.get(
        "/v1/jobcentre/{kommunekode}/udsoegning",
        response_class=StreamingResponse,
        responses={
            200: {
                "content": {"text/csv": {}},
                "description": "the CSV udsøgning; `X-Adgangslog-Id` names its access-log entry",
            },
            401: {"description": "no valid bearer token"},
            403: {
                "description": "the token is neither this jobcenter's nor an auditor's with"
                " `as_of` a past day"
            },
            422: {"description": "the criteria are refused (the reason is in `detail`)"},
            429: {"description": "the holder's extractions at once are running; `Retry-After`"},
        },
    )
    async def udsoegning(
        request: Request,
        kommunekode: str,
        caller: Caller,
        fra: Annotated[str, Query(description="first day, YYYY-MM-DD")],
        til: Annotated[str, Query(description="last day (included), YYYY-MM-DD")],
        maalgruppe: Annotated[str | None, Query(description="only this målgruppe")] = None,
        kun_adviserede: Annotated[bool, Query(description="only citizens advised")] = False,
        maanedlig: Annotated[
            bool,
            Query(
                description="add the column maaneder_uden_registrering: whole months of the"
                " period without registration under the monthly duty (lov nr. 371/2022)"
            ),
        ] = False,
        as_of: Annotated[
            str | None,
            Query(
                description="the extraction as made at the end of this day, YYYY-MM-DD (not"
                " after today); required for an auditor, whose day must be before today"
            ),
        ] = None,
    ) -> StreamingResponse:
        may_extract(caller, kommunekode, as_of)
        state = request.app.state
        now = await state.clock.now()
        try:
            asked = extraction.order(
                kommunekode, fra, til, maalgruppe, kun_adviserede, as_of, now,
                state.settings.udsoegning_max_days, maanedlig,
            )  # fmt: skip
        except CriteriaError as error:
            raise _unprocessable(str(error)) from None
        auditor_day(caller, asked.as_of, day_of(now))
        slot = state.extractions.take(str(caller))
        if slot is None:
            raise HTTPException(
                TOO_MANY_REQUESTS,
                f"{state.extractions.per_holder} extractions are already running for {caller};"
                " try again when one has finished",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        try:
            started = await extraction.start(
                state.db, state.access, asked, str(caller), now, **_request_doc(request)
            )
        except BaseException:
            slot.release()
            raise
        return SlotResponse(
            started.csv(),
            slot,
            media_type=extraction.MEDIA_TYPE,
            headers={
                "Content-Disposition": f'attachment; filename="udsoegning-{kommunekode}.csv"',
                "X-Adgangslog-Id": started.entry,
            },
        )

    @router.get("/v1/citizens/{cpr}/joblogs")
    async def joblogs(request: Request, cpr: str, caller: Caller) -> list[dict[str, Any]]:
        _check_cpr(cpr)
        if caller.kind != "frontend":
            raise forbid("joblogs are read by front ends")
        state = request.app.state
        now = await state.clock.now()
        facts = FactsReader(state.db)
        if caller.akasse_nr is not None:
            current = await facts.status_on(cpr, day_of(now))
            if current is None or current.akasseNr != caller.akasse_nr:
                raise forbid(f"the citizen is not a member of a-kasse {caller.akasse_nr}")
        result = []
        for joblog in await JoblogReader(state.db).current_of(cpr):
            change = JoblogChange(handling=Handling.OPRET, entry=joblog, akasseNr=caller.akasse_nr)
            result.append(akasse_outbound(change) if caller.akasse_nr else jobnet_outbound(change))
        await state.access.record(
            str(caller), "joblogs", now, cpr=cpr, raekker=len(result), **_request_doc(request)
        )
        return result

    @router.get("/v1/citizens/{cpr}/access-log")
    async def access_log(request: Request, cpr: str, caller: Caller) -> list[dict[str, Any]]:
        _check_cpr(cpr)
        state = request.app.state
        now = await state.clock.now()
        if caller.kind == "jobcenter":
            current = await FactsReader(state.db).status_on(cpr, day_of(now))
            if current is None or current.jobcenter != caller.ident:
                raise forbid(f"the citizen is not one of jobcenter {caller.ident}'s citizens")
        elif caller.kind != "revisor":
            raise forbid("the access log is for the citizen's jobcenter and auditors")
        entries = await state.access.of_citizen(cpr)
        await state.access.record(
            str(caller), "adgangslog", now, cpr=cpr, raekker=len(entries), **_request_doc(request)
        )
        return [{k: v for k, v in entry.items() if k != "_id"} for entry in entries]

    return router


def _check_cpr(cpr: str) -> None:
    if not is_valid_cpr(cpr):
        raise _unprocessable("cpr is not a valid CPR number")


def _unprocessable(message: str) -> HTTPException:
    return HTTPException(UNPROCESSABLE, message)


def serve(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    setup_logging(settings)
    uvicorn.run(
        create_api(settings), host=settings.api_host, port=settings.api_port, log_config=None
    )
