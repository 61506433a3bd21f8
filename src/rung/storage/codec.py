"""Versioned JSON encoding of journal records (events and commands). No pickle, anywhere.

A record is stored as ``kind`` (the class name) and a JSON object body carrying ``"v"``, the
record format version. Unknown kinds, fields or versions raise ``JournalError`` instead of guessing
(saying that a newer rung probably wrote them).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rung.core.events import (
    COMMAND_TYPES,
    EVENT_TYPES,
    Action,
    CapacityChanged,
    Decision,
    Record,
    TrialEnded,
)
from rung.core.records import Outcome
from rung.errors import JournalError, RungError

if TYPE_CHECKING:
    from rung.core.records import StudySpec

RECORD_VERSION = 1
_TYPES: dict[str, type] = {t.__name__: t for t in (*EVENT_TYPES, *COMMAND_TYPES)}


# field names per record type, computed once (``dataclasses.fields`` is slow on the hot path)
_FIELDS: dict[type, tuple[str, ...]] = {
    t: tuple(f.name for f in dataclasses.fields(t)) for t in _TYPES.values()
}
_KNOWN: dict[type, frozenset[str]] = {t: frozenset(names) for t, names in _FIELDS.items()}
#: fields added to a record type after its format was fixed: written only when not ``None``,
#: so a record that does not use them is written as rung wrote it before (a body without
#: them reads back as ``None``: the field's default)
_ADDED: dict[type, frozenset[str]] = {CapacityChanged: frozenset({"executor"}),
                                       TrialEnded: frozenset({"told"})}
#: what an unknown record kind, field or newer format version most likely means
_NEWER = "probably written by a newer rung; upgrade rung to read it"
_PLAIN = (int, float, str, type(None), dict, bool)
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=True)


def _plain(value: Any) -> Any:
    if isinstance(value, Decision):
        return {
            "action": value.action.value,
            "until_step": value.until_step,
            "checkpoint": value.checkpoint,
            "reason": value.reason,
        }
    if isinstance(value, Outcome | Action):
        return value.value
    if isinstance(value, Mapping):
        return dict(value)
    return value


def to_body(record: Record) -> tuple[str, dict[str, Any]]:
    """``(kind, body)`` of a record; the body is plain JSON data."""
    cls = type(record)
    names = _FIELDS.get(cls)
    if names is None:
        raise JournalError(f"cannot journal {record!r}: not an event or command")
    body: dict[str, Any] = {"v": RECORD_VERSION}
    added = _ADDED.get(cls)
    for name in names:
        value = getattr(record, name)
        if value is None and added is not None and name in added:
            continue
        body[name] = value if type(value) in _PLAIN else _plain(value)
    return cls.__name__, body


def from_body(kind: str, body: Any) -> Record:
    """The record of ``kind`` whose JSON body is ``body``.

    Raises:
        JournalError: an unknown kind, field or format version (``... probably written by a
            newer rung; upgrade rung to read it``), or a body that is not that kind's (not a
            JSON object, a field missing or of another type, an unknown decision action or
            trial outcome), naming what is wrong.
    """
    cls = _TYPES.get(kind)
    if cls is None:
        raise JournalError(f"unknown journal record kind {kind!r}: {_NEWER}")
    if not isinstance(body, Mapping):
        raise JournalError(f"malformed {kind} record {body!r}: not a JSON object")
    version = body.get("v")
    if version != RECORD_VERSION:
        newer = f": {_NEWER}" if isinstance(version, int) and version > RECORD_VERSION else ""
        raise JournalError(
            f"{kind} record has format version {version!r}, expected {RECORD_VERSION}{newer}"
        )
    kwargs = {k: v for k, v in body.items() if k != "v"}
    if not _KNOWN[cls].issuperset(kwargs):  # every change of a format so far added a field
        unknown = ", ".join(str(k) for k in kwargs if k not in _KNOWN[cls])
        raise JournalError(f"{kind} record has fields this rung does not know ({unknown}): "
                           f"{_NEWER}")
    try:
        if "decision" in kwargs:
            d = kwargs["decision"]
            kwargs["decision"] = Decision(
                Action(d["action"]), d["until_step"], d["checkpoint"], d["reason"]
            )
        if cls is TrialEnded:
            kwargs["outcome"] = Outcome(kwargs["outcome"])
        return cls(**kwargs)  # type: ignore[no-any-return]
    except KeyError as e:
        raise JournalError(f"malformed {kind} record {dict(body)!r}: no {e} field") from None
    except (TypeError, ValueError) as e:
        raise JournalError(f"malformed {kind} record {dict(body)!r}: {e}") from None


def dumps(record: Record) -> tuple[str, str]:
    kind, body = to_body(record)
    return kind, _ENCODER.encode(body)


def loads(kind: str, text: str) -> Record:
    try:
        body = json.loads(text)
    except (TypeError, ValueError) as e:  # JSONDecodeError, a BLOB that is not UTF-8
        raise JournalError(f"unreadable {kind} record: {e}") from None
    return from_body(kind, body)


def loads_spec(text: Any, where: str) -> dict[str, Any]:
    """A study's stored spec (``text``: its JSON object; the journal keeps any).

    Raises:
        JournalError: ``"<where>: its spec is damaged (...)"``: not JSON, or not an object.
    """
    try:
        spec = json.loads(text)
    except (TypeError, ValueError) as e:  # JSONDecodeError; a BLOB
        raise JournalError(f"{where}: its spec is damaged (not JSON: {e})") from None
    if not isinstance(spec, dict):
        raise JournalError(f"{where}: its spec is damaged (a JSON {type(spec).__name__}, "
                           "not an object)")
    return spec


def study_spec(spec: Mapping[str, Any], where: str) -> StudySpec:
    """The study spec a journal stored (``spec``: ``load_study``'s answer).

    Raises:
        JournalError: ``"<where>: its spec is damaged (...)"``: it is not a study spec (a
            hand edit: a key missing, a value of another type).
        ConfigError: a spec version or component this rung does not know (as
            ``StudySpec.from_json`` says it).
    """
    from rung.core.records import StudySpec

    try:
        return StudySpec.from_json(spec)
    except RungError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        what = f"no {e} key" if isinstance(e, KeyError) else str(e)
        raise JournalError(f"{where}: its spec is damaged ({what})") from None
