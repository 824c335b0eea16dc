"""Bearer tokens: each belongs to one holder, configured in JOBLOG_API_TOKENS (contract).

Holders: `jobcenter:<kommunekode>` (udsøgning of its own citizens, their access logs),
`frontend:jobnet` / `frontend:akasse:<akasseNr>` (a citizen's current joblogs) and
`revisor:<name>` (auditors: any citizen's access log).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request, status


@dataclass(frozen=True)
class Holder:
    kind: str  # "jobcenter", "frontend" or "revisor"
    ident: str  # kommunekode, "jobnet", "akasse:067", or the auditor's name

    def __str__(self) -> str:
        return f"{self.kind}:{self.ident}"

    @property
    def akasse_nr(self) -> str | None:
        if self.kind == "frontend" and self.ident.startswith("akasse:"):
            return self.ident.split(":", 1)[1]
        return None


def parse_holder(text: str) -> Holder | None:
    kind, _, ident = text.partition(":")
    if kind in {"jobcenter", "frontend", "revisor"} and ident:
        return Holder(kind, ident)
    return None


def bearer_holder(request: Request) -> Holder | None:
    """The holder of the request's `Authorization: Bearer <token>`, None if there is none."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    tokens: dict[str, str] = request.app.state.settings.api_tokens
    return parse_holder(tokens.get(token, "")) if scheme.lower() == "bearer" else None


def holder_of(request: Request) -> Holder:
    """The caller, from `Authorization: Bearer <token>`; 401 without a valid token."""
    holder = bearer_holder(request)
    if holder is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return holder


def forbid(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, reason)
