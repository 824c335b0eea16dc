"""Bearer tokens: each belongs to one holder.

Two kinds of token are accepted (contract, "Jobcenter HTTP API"):

- a local token from the operator's map `JOBLOG_API_TOKENS` (token -> holder);
- an OAuth2 bearer JWT from the jobcentres' identity provider (OIDC), when `JOBLOG_OIDC_ISSUER`,
  `JOBLOG_OIDC_AUDIENCE` and `JOBLOG_OIDC_JWKS_URL` or `JOBLOG_OIDC_JWKS_FILE` are set. Its
  signature is checked against the JWKS (the key named by the header's `kid`), with RS256 or
  ES256 only (never `none` or a shared-secret HS*), and it must carry `exp`, `iss` (equal to the
  issuer) and `aud` (naming the audience). The holder is its `joblog_holder` claim.

Holders: `jobcenter:<kommunekode>` (udsøgning of its own citizens, their access logs),
`frontend:jobnet` / `frontend:akasse:<akasseNr>` (a citizen's current joblogs) and
`revisor:<name>` (auditors: any citizen's access log, and any jobcenter's udsøgning as of a past
day, `may_extract`); whatever is not granted here is refused (403). Anything else is no holder:
a token-map entry naming none is 401 like an unknown token, a valid JWT naming none is 403.
A JWT that cannot be checked because the JWKS cannot be fetched is 503.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import jwt
from fastapi import HTTPException, Request, status

from shared.contract.kommuner import is_kommunekode
from shared.platform.settings import Settings

HOLDER_CLAIM = "joblog_holder"
ALGORITHMS = ("RS256", "ES256")  # asymmetric only: no "none", no HS*
REQUIRED_CLAIMS = ("exp", "iss", "aud")
LEEWAY_SECONDS = 30  # clock skew between the identity provider and us
MAX_TOKEN_CHARS = 8192  # longer is refused before it is parsed
JWKS_LIFESPAN_SECONDS = 300  # the fetched JWKS is used this long
JWKS_TIMEOUT_SECONDS = 5.0
_AKASSE_NR = re.compile(r"[0-9]{3}")
_REVISOR = re.compile(r"[\w.@-]{1,64}")

log = logging.getLogger("dfdg.jobcenter-api.auth")


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


def parse_holder(text: object) -> Holder | None:
    """The holder a token-map entry or a `joblog_holder` claim names, None if it names none:
    `jobcenter:<one of the 98 kommunekoder>`, `frontend:jobnet`, `frontend:akasse:<3 digits>`,
    `revisor:<1-64 letters, digits, . _ @ ->`."""
    if not isinstance(text, str):
        return None
    kind, _, ident = text.partition(":")
    if kind == "jobcenter" and is_kommunekode(ident):
        return Holder(kind, ident)
    if kind == "frontend" and (
        ident == "jobnet"
        or (ident.startswith("akasse:") and _AKASSE_NR.fullmatch(ident.removeprefix("akasse:")))
    ):
        return Holder(kind, ident)
    if kind == "revisor" and _REVISOR.fullmatch(ident):
        return Holder(kind, ident)
    return None


class TokenRefused(Exception):
    """The JWT is not valid (401); `reason` is safe to show and to record."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JwksUnavailable(Exception):
    """The identity provider's keys could not be fetched (503)."""


class OidcVerifier:
    """Checks an OIDC bearer JWT and returns its claims. Keys come from a JWKS file (read once
    at start) or URL (PyJWKClient: the set is cached for JWKS_LIFESPAN_SECONDS, an unknown `kid`
    refetches it at most every 30 s; a fetch runs in a thread, never on the event loop)."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        jwks_file: Path | None = None,
    ) -> None:
        if (jwks_url is None) == (jwks_file is None):
            raise ValueError("OIDC needs one of JOBLOG_OIDC_JWKS_URL, JOBLOG_OIDC_JWKS_FILE")
        self.issuer = issuer
        self.audience = audience
        self._client: jwt.PyJWKClient | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        if jwks_url is not None:
            self._client = jwt.PyJWKClient(
                jwks_url, lifespan=JWKS_LIFESPAN_SECONDS, timeout=JWKS_TIMEOUT_SECONDS
            )
        else:
            assert jwks_file is not None
            self._keys = _signing_keys(jwt.PyJWKSet.from_json(jwks_file.read_text("utf-8")))

    async def claims(self, token: str) -> dict[str, Any]:
        """The verified claims; raises TokenRefused or JwksUnavailable."""
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenRefused(f"the bearer token is longer than {MAX_TOKEN_CHARS} characters")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise TokenRefused("the bearer token is not a valid token") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:  # checked before any key is looked up
            raise TokenRefused(f"the token's algorithm is not one of {', '.join(ALGORITHMS)}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRefused("the token names no signing key (kid)")
        key = await self._signing_key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": list(REQUIRED_CLAIMS), "enforce_minimum_key_length": True},
            )
        except jwt.InvalidTokenError as error:
            raise TokenRefused(f"the bearer token is refused: {_short(str(error))}") from None
        return claims

    async def _signing_key(self, kid: str) -> jwt.PyJWK:
        if self._client is None:
            if kid not in self._keys:
                raise TokenRefused("the token's signing key is not known")
            return self._keys[kid]
        cache = self._client.jwk_set_cache
        cached = cache.get() if cache is not None else None
        if cached is not None and kid in (known := _signing_keys(cached)):
            return known[kid]  # the common case: no thread, no fetch
        try:
            return await asyncio.to_thread(self._client.get_signing_key, kid)
        except jwt.PyJWKClientConnectionError as error:
            log.warning("the JWKS could not be fetched: %s", _short(str(error)))
            raise JwksUnavailable from None
        except (jwt.PyJWKClientError, jwt.PyJWKSetError):
            raise TokenRefused("the token's signing key is not known") from None


def _signing_keys(keys: jwt.PyJWKSet) -> dict[str, jwt.PyJWK]:
    """The set's signing keys by `kid` (keys without one, or for encryption, are left out)."""
    return {
        key.key_id: key for key in keys.keys if key.key_id and key.public_key_use in ("sig", None)
    }


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


class Authenticator:
    """Resolves `Authorization: Bearer <token>`: the token map first, then OIDC (if set up)."""

    def __init__(self, tokens: dict[str, str], oidc: OidcVerifier | None = None) -> None:
        self.tokens = tokens
        self.oidc = oidc

    @classmethod
    def from_settings(cls, settings: Settings) -> Authenticator:
        oidc = None
        jwks = (settings.oidc_jwks_url, settings.oidc_jwks_file)
        if settings.oidc_issuer or settings.oidc_audience or any(jwks):
            if not (settings.oidc_issuer and settings.oidc_audience):
                raise ValueError("OIDC needs JOBLOG_OIDC_ISSUER and JOBLOG_OIDC_AUDIENCE")
            oidc = OidcVerifier(
                settings.oidc_issuer,
                settings.oidc_audience,
                settings.oidc_jwks_url or None,
                Path(settings.oidc_jwks_file) if settings.oidc_jwks_file else None,
            )
        return cls(settings.api_tokens, oidc)

    def from_map(self, token: str) -> Holder | None:
        return parse_holder(self.tokens.get(token))

    async def authenticate(self, token: str) -> tuple[Holder, str | None]:
        """The token's holder and, for a JWT, its subject; raises the HTTP refusal."""
        holder = self.from_map(token)
        if holder is not None:
            return holder, None
        if self.oidc is None or token.count(".") != 2:
            raise unauthorized("a valid bearer token is required")
        try:
            claims = await self.oidc.claims(token)
        except TokenRefused as refused:
            raise unauthorized(refused.reason) from None
        except JwksUnavailable:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "the identity provider's keys cannot be fetched; try again",
                headers={"Retry-After": "30"},
            ) from None
        holder = parse_holder(claims.get(HOLDER_CLAIM))
        if holder is None:
            raise forbid(f"the token's {HOLDER_CLAIM} claim names no holder of this API")
        subject = claims.get("sub")
        return holder, subject if isinstance(subject, str) else None


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def holder_of(request: Request) -> Holder:
    """The caller, from `Authorization: Bearer <token>`; 401 without a valid token. The holder
    (and a JWT's subject) is kept on `request.state` for the access log."""
    request.state.holder = None
    token = bearer_token(request)
    if token is None:
        raise unauthorized("a valid bearer token is required")
    auth: Authenticator = request.app.state.auth
    holder, subject = await auth.authenticate(token)
    request.state.holder, request.state.subject = holder, subject
    return holder


def known_holder(request: Request) -> Holder | None:
    """The holder for the access log of a refused request: as authenticated, or (when the
    request was refused before authentication, e.g. an unknown path) from the token map."""
    if hasattr(request.state, "holder"):
        holder: Holder | None = request.state.holder
        return holder
    token = bearer_token(request)
    auth: Authenticator = request.app.state.auth
    return auth.from_map(token) if token else None


def may_extract(holder: Holder, kommunekode: str, as_of: str | None) -> None:
    """Who may ask for jobcenter `kommunekode`'s udsøgning (403 otherwise): the jobcenter itself,
    and an auditor, for any jobcenter, only with `as_of` (what the jobcenter could have
    extracted on a past day; read-only like every extraction, and logged). The auditor's day
    is checked once it is parsed (`auditor_day`)."""
    if holder.kind == "jobcenter" and holder.ident == kommunekode:
        return
    if holder.kind == "revisor":
        if as_of is None:
            raise forbid(AUDITOR_AS_OF)
        return
    raise forbid(f"{holder} may not read jobcenter {kommunekode}'s citizens")


AUDITOR_AS_OF = "an auditor's udsøgning is as of a past day: as_of=YYYY-MM-DD (before today)"


def auditor_day(holder: Holder, as_of: date | None, today: date) -> None:
    """An auditor's `as_of` is a day before today (403 otherwise)."""
    if holder.kind == "revisor" and (as_of is None or as_of >= today):
        raise forbid(AUDITOR_AS_OF)


def unauthorized(reason: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, reason, headers={"WWW-Authenticate": "Bearer"}
    )


def forbid(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, reason)
