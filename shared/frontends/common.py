"""What the Jobnet and a-kasse mappings share: a front-end format is a `Format` (a table from
canonical names to the producer's names and enum values), and the functions here parse an
inbound message to a `JoblogCommand` and turn a `JoblogChange` into the outbound message.

Parsing is strict: the body must be UTF-8 JSON holding an object, at most `max_bytes` long;
unknown fields (at the top level and inside the entry) are refused as `field_invalid`, so a
producer's typo is not silently lost. Every refusal names the field in the producer's terms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar
from uuid import UUID

from shared.contract.cpr import InvalidCpr, birth_date
from shared.contract.events import (
    Ansoegningsstatus,
    Arbejdstid,
    FundetVia,
    Handling,
    Joblog,
    JoblogChange,
    JoblogCommand,
    JoblogType,
    Sletning,
    SoegtVia,
)
from shared.contract.joblog_rules import check_joblog
from shared.contract.rejections import Reason, Refusal
from shared.contract.tid import day_of, moment_problem

T = TypeVar("T")
Json = dict[str, Any]
Convert = Callable[[object], T]

TEXT, DATE, OBJECT = "text", "date", "object"
Kind = str | type[StrEnum]

# The canonical entry, by dotted path: what kind of value each field holds.
ENTRY_KINDS: dict[str, Kind] = {
    "type": JoblogType,
    "stilling": TEXT,
    "virksomhed": TEXT,
    "adresse": TEXT,
    "postnummer": TEXT,
    "by": TEXT,
    "land": TEXT,
    "ansoegningsfrist": DATE,
    "arbejdstid": Arbejdstid,
    "kontaktperson": OBJECT,
    "kontaktperson.navn": TEXT,
    "kontaktperson.telefon": TEXT,
    "kontaktperson.email": TEXT,
    "link": TEXT,
    "status": Ansoegningsstatus,
    "soegtDato": DATE,
    "fundetVia": FundetVia,
    "soegtVia": SoegtVia,
    "aktivitet": TEXT,
    "aktivitetsdato": DATE,
    "noter": TEXT,
}
ENUMS: tuple[type[StrEnum], ...] = (
    Handling,
    JoblogType,
    Arbejdstid,
    Ansoegningsstatus,
    FundetVia,
    SoegtVia,
    Sletning,
)
# The message's own fields, canonical names: read inbound, then the outbound-only ones.
# "akasseNr" is the a-kasse that writes (inbound) or receives (outbound) the message.
INBOUND_FIELDS = (
    "beskedId",
    "handling",
    "akasseNr",
    "joblogId",
    "cpr",
    "tidspunkt",
    "grundversion",
    "joblog",
)
OUTBOUND_ONLY_FIELDS = (
    "version", "oprettet", "senestAendret", "kilde", "kildeBeskedId", "slettet", "sletning",
)  # fmt: skip
MAX_VERSION = 2**63 - 1
UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def identity(names: tuple[str, ...] | Mapping[str, Any]) -> dict[str, str]:
    return {name: name for name in names}


@dataclass(frozen=True)
class Format:
    """One front end's format.

    `envelope` maps the message's canonical field names (INBOUND_FIELDS, OUTBOUND_ONLY_FIELDS)
    to the producer's, in the order of the outbound message; `entry` maps every canonical entry
    path (ENTRY_KINDS) to the producer's path inside the entry object; `values` maps, per
    canonical enum, the producer's value to the canonical member; `kilde` reads the message's
    `kilde` from the message object (refusing a bad a-kasse number).
    """

    envelope: Mapping[str, str]
    entry: Mapping[str, str]
    values: Mapping[type[StrEnum], Mapping[str, StrEnum]]
    kilde: Callable[[Json], str]
    leaves: dict[str, str] = field(init=False, repr=False)  # producer path -> canonical path
    objects: dict[str, str | None] = field(init=False, repr=False)  # producer object -> canon.
    children: dict[str, tuple[str, ...]] = field(init=False, repr=False)
    outbound_values: dict[str, dict[str, str]] = field(init=False, repr=False)
    names: dict[str, str] = field(init=False, repr=False)  # `entry_names`, made once
    writes: tuple[tuple[tuple[str, ...], tuple[str, ...], str | type], ...] = field(
        init=False, repr=False
    )  # (canonical path, producer path, kind) of each entry field, split once (`entry_outbound`)

    def __post_init__(self) -> None:
        missing = set(ENTRY_KINDS) ^ set(self.entry)
        if missing:
            raise ValueError(f"entry table does not match the canonical entry: {missing}")
        for enum in ENUMS:
            mapped = list(self.values[enum].values())
            if sorted(mapped) != sorted(enum) or len(set(mapped)) != len(mapped):
                raise ValueError(f"{enum.__name__} is not mapped one to one")
        leaves: dict[str, str] = {}
        objects: dict[str, str | None] = {}
        children: dict[str, list[str]] = {"": []}
        for canonical, producer in self.entry.items():
            if ENTRY_KINDS[canonical] == OBJECT:
                objects[producer] = canonical
            else:
                leaves[producer] = canonical
            parent, name = "", ""
            for part in producer.split("."):
                name = f"{parent}.{part}" if parent else part
                if part not in children.setdefault(parent, []):
                    children[parent].append(part)
                if name != producer:
                    objects.setdefault(name, None)
                parent = name
        object.__setattr__(self, "leaves", leaves)
        object.__setattr__(self, "objects", objects)
        object.__setattr__(self, "children", {k: tuple(v) for k, v in children.items()})
        outbound = {
            enum.__name__: {member.value: value for value, member in self.values[enum].items()}
            for enum in ENUMS
        }
        object.__setattr__(self, "outbound_values", outbound)
        names = {canonical: self.entry_prefix + path for canonical, path in self.entry.items()}
        object.__setattr__(self, "names", names)
        writes = tuple(
            (tuple(canonical.split(".")), tuple(producer.split(".")), ENTRY_KINDS[canonical])
            for canonical, producer in self.entry.items()
        )
        object.__setattr__(self, "writes", writes)

    @property
    def entry_prefix(self) -> str:
        return self.envelope["joblog"] + "."

    def entry_names(self) -> Mapping[str, str]:
        """Canonical entry path -> the producer's full field name, for refusals."""
        return self.names


# inbound ------------------------------------------------------------------------------------


def decode_object(raw: bytes, max_bytes: int) -> tuple[Json, str]:
    """The message's JSON object and its text. The size is checked before anything is parsed."""
    if len(raw) > max_bytes:
        raise Refusal(
            Reason.MALFORMED,
            f"message is {len(raw)} bytes, more than the limit of {max_bytes} bytes",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Refusal(Reason.MALFORMED, f"message is not UTF-8: {error.reason}") from None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise Refusal(Reason.MALFORMED, f"message is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise Refusal(Reason.MALFORMED, f"message is {_json_type(value)}, not a JSON object")
    return value, text


def parse_command(
    raw: bytes, key: str | None, received: datetime, max_bytes: int, fmt: Format
) -> JoblogCommand:
    """An inbound message in `fmt` as a canonical command, checked against the contract."""
    message, text = decode_object(raw, max_bytes)
    name = fmt.envelope
    cpr = message.get(name["cpr"])
    try:
        if not isinstance(cpr, str):
            raise InvalidCpr(
                "cpr is missing" if cpr is None else f"cpr is {_json_type(cpr)}, not text"
            )
        birth_date(cpr)
    except InvalidCpr as error:
        problem = str(error).removeprefix("cpr ")
        raise Refusal(Reason.INVALID_CPR, f"{name['cpr']}: {problem}", name["cpr"]) from None
    if key != cpr:
        problem = "message has no key" if key is None else "message key is not the cpr"
        raise Refusal(Reason.MALFORMED, f"{problem}; the key must be {name['cpr']}", "key")
    allowed = {name[field] for field in INBOUND_FIELDS if field in name}
    unknown_fields(message, allowed, "")
    besked_id = need(message, name["beskedId"], as_uuid)
    handling = need(message, name["handling"], enum_of(fmt.values[Handling]))
    kilde = fmt.kilde(message)
    joblog_id = need(message, name["joblogId"], as_uuid)
    tidspunkt = need(message, name["tidspunkt"], as_moment)
    if late := moment_problem(tidspunkt, received):  # out of bounds, or the future
        raise Refusal(Reason.FIELD_INVALID, f"{name['tidspunkt']}: {late}", name["tidspunkt"])
    if handling == Handling.OPRET:
        grundversion = get(message, name["grundversion"], as_version)
    else:
        grundversion = need(message, name["grundversion"], as_version)
    joblog = None
    if handling != Handling.SLET:  # a deletion's entry, if any, is ignored
        joblog = parse_entry(need(message, name["joblog"], as_object), fmt)
        check_joblog(joblog, day_of(received), fmt.entry_names())
    return JoblogCommand(
        beskedId=besked_id,
        kilde=kilde,
        handling=handling,
        joblogId=joblog_id,
        cpr=cpr,
        tidspunkt=tidspunkt,
        grundversion=grundversion,
        joblog=joblog,
        modtaget=received,
        raa=text,
    )


def parse_entry(entry: Json, fmt: Format) -> Joblog:
    """The producer's entry object as a canonical Joblog (the field rules are checked apart)."""
    canonical: Json = {}
    _read_entry(entry, "", fmt, canonical)
    if "type" not in canonical:
        field_name = fmt.entry_prefix + fmt.entry["type"]
        raise Refusal(Reason.FIELD_INVALID, f"{field_name}: is missing", field_name)
    return Joblog.model_validate(canonical)


def _read_entry(obj: Json, path: str, fmt: Format, out: Json) -> None:
    prefix = fmt.entry_prefix + (f"{path}." if path else "")
    children = fmt.children.get(path, ())
    unknown_fields(obj, set(children), prefix)
    for child in children:
        child_path = f"{path}.{child}" if path else child
        if child_path in fmt.objects:
            value = get(obj, child, as_object, prefix=prefix)
            if value is not None:
                canonical_object = fmt.objects[child_path]
                if canonical_object is not None:
                    _set(out, canonical_object, {})
                _read_entry(value, child_path, fmt, out)
        else:
            canonical = fmt.leaves[child_path]
            kind = ENTRY_KINDS[canonical]
            convert: Convert[object]
            if kind == TEXT:
                convert = as_text
            elif kind == DATE:
                convert = as_day
            else:
                assert isinstance(kind, type)
                convert = enum_of(fmt.values[kind])
            converted = get(obj, child, convert, prefix=prefix)
            if converted is not None:
                _set(out, canonical, converted)


def unknown_fields(obj: Json, allowed: set[str], prefix: str) -> None:
    unknown = [key for key in obj if key not in allowed]
    if unknown:
        field_name = prefix + unknown[0]
        raise Refusal(Reason.FIELD_INVALID, f"{field_name}: unknown field", field_name)


def get(obj: Json, key: str, convert: Convert[T], prefix: str = "") -> T | None:
    """`obj[key]` converted, None when null or absent. A value `convert` refuses (ValueError)
    is refused as field_invalid naming `prefix + key`."""
    field_name = prefix + key
    value = obj.get(key)
    if value is None:
        return None
    try:
        return convert(value)
    except ValueError as error:
        raise Refusal(Reason.FIELD_INVALID, f"{field_name}: {error}", field_name) from None


def need(obj: Json, key: str, convert: Convert[T], prefix: str = "") -> T:
    """Like `get`, but null or absent is refused."""
    value = get(obj, key, convert, prefix)
    if value is None:
        field_name = prefix + key
        raise Refusal(Reason.FIELD_INVALID, f"{field_name}: is missing", field_name)
    return value


def as_text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {_json_type(value)}")
    try:  # JSON can escape half of a surrogate pair ("\ud83d") alone: no character, no UTF-8
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(
            f"is not valid Unicode text: a lone surrogate {value[error.start]!r} at character"
            f" {error.start + 1} (a \\uD800-\\uDFFF escape that is not half of a pair)"
        ) from None
    return value


def as_object(value: object) -> Json:
    if not isinstance(value, dict):
        raise ValueError(f"must be an object, not {_json_type(value)}")
    return value


def as_uuid(value: object) -> UUID:
    if not (isinstance(value, str) and UUID_TEXT.fullmatch(value)):
        raise ValueError(f"{_show(value)} is not a UUID")
    return UUID(value)


def as_day(value: object) -> date:
    if isinstance(value, str) and DATE_TEXT.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{_show(value)} is not an ISO date (YYYY-MM-DD)")


def as_moment(value: object) -> datetime:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None and moment.utcoffset() is not None:
                return moment
            raise ValueError(f"{_show(value)} has no offset (e.g. +01:00 or Z)")
    raise ValueError(f"{_show(value)} is not an ISO 8601 time with offset")


def as_version(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_VERSION:
        raise ValueError(f"{_show(value)} is not a version (an integer from 1)")
    return value


def enum_of(values: Mapping[str, T]) -> Convert[T]:
    def convert(value: object) -> T:
        if isinstance(value, str) and value in values:
            return values[value]
        raise ValueError(f"{_show(value)} is not one of {', '.join(values)}")

    return convert


def message_id_of(raw: bytes, key: str) -> str | None:
    """Best effort: the message id, if the body is a JSON object with a string there."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    message_id = value.get(key) if isinstance(value, dict) else None
    return message_id[:200] if isinstance(message_id, str) else None


def naming_the_field(refusal: Refusal, fmt: Format | None = None) -> Refusal:
    """The refusal with its field in the producer's terms (`fmt`: a canonical message field such
    as "joblogId" becomes "logId") and a message that names it ("logId: ...")."""
    field_name = refusal.field
    if field_name is not None and fmt is not None:
        field_name = fmt.envelope.get(field_name, field_name)
    message = refusal.message
    if field_name is not None and not message.startswith(f"{field_name}:"):
        message = f"{field_name}: {message}"
    return Refusal(refusal.reason, message, field_name)


# outbound -----------------------------------------------------------------------------------


def outbound(change: JoblogChange, fmt: Format) -> Json:
    """The change as `fmt`'s outbound message: the full stored entry (None fields omitted)
    with version, times, origin and the origin's message id; "snapshot" only when it is one."""
    entry = change.entry
    besked_id, changed = str(entry.kildeBeskedId), entry.senestAendret.isoformat()
    values: Json = {
        "beskedId": besked_id,
        "handling": fmt.outbound_values[Handling.__name__][change.handling],
        "akasseNr": change.akasseNr,
        "joblogId": str(entry.joblogId),
        "cpr": entry.cpr,
        "tidspunkt": changed,
        "joblog": entry_outbound(entry.joblog, fmt),
        "version": entry.version,
        "oprettet": entry.oprettet.isoformat(),
        "senestAendret": changed,
        "kilde": entry.kilde,
        "kildeBeskedId": besked_id,
        "slettet": entry.slettet,
    }
    if change.sletning is not None:  # a retention change: only then (additive)
        values["sletning"] = fmt.outbound_values[Sletning.__name__][change.sletning]
    message = {name: values[field] for field, name in fmt.envelope.items() if field in values}
    if change.snapshot:
        message["snapshot"] = True
    return message


def entry_outbound(joblog: Joblog, fmt: Format) -> Json:
    canonical = joblog.model_dump(mode="json", exclude_none=True)
    out: Json = {}
    for path, producer, kind in fmt.writes:
        value: Any = canonical
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            continue
        if kind == OBJECT:
            value = {}
        elif isinstance(kind, type):
            value = fmt.outbound_values[kind.__name__][value]
        _put(out, producer, value)
    return out


# helpers ------------------------------------------------------------------------------------


def _set(target: Json, path: str, value: object) -> None:
    _put(target, tuple(path.split(".")), value)


def _put(target: Json, path: tuple[str, ...], value: object) -> None:
    *parents, last = path
    for part in parents:
        target = target.setdefault(part, {})
    if not (isinstance(value, dict) and last in target):  # keep an object already there
        target[last] = value


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    return "an object"


def _show(value: object) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value)[:60]
    return text if len(text) <= 60 else text[:57] + "..."
