"""Versioned JSON encoding of journal records (events and commands). No pickle, anywhere.

A record is stored as ``kind`` (the class name) and a JSON object body carrying ``"v"``, the
record format version. Unknown kinds, fields or versions raise ``JournalError`` instead of guessing
(saying that a newer rung probably wrote them).
"""

from __future__ import annotations

import dataclasses
import json
import operator
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from rung.core.events import (
    COMMAND_TYPES,
    EVENT_TYPES,
    Action,
    CapacityChanged,
    Decision,
    Record,
    Reply,
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
    record = _built(kind, body)
    return record if record is not None else _checked(kind, body)


def _checked(kind: str, body: Any) -> Record:
    """``from_body`` the long way: every check, and the error that names what is wrong."""
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


# --- the short way: a body as ``to_body`` writes it ---------------------------------------
# Reading a journal decodes every record (10^5 trials: about 7 x 10^5 records), so the bodies
# this code writes take a short way that builds the very record ``_checked`` would: the body
# holds ``"v"`` equal to ``RECORD_VERSION`` and exactly the kind's fields (all of them, or all
# but trailing ``_ADDED`` ones, which then keep their default ``None``), so no field is unknown
# or missing, and the record is built from the same values. Anything else (and any value a
# conversion refuses) takes the long way, which raises the error that names it.

_ACTIONS: dict[str, Action] = {a.value: a for a in Action}
_OUTCOMES: dict[str, Outcome] = {o.value: o for o in Outcome}


def _layouts(cls: type) -> dict[int, Callable[[dict[str, Any]], tuple[Any, ...]]]:
    """Body length (``"v"`` included) -> the getter of the leading fields of ``cls`` that such
    a body holds, as a tuple: all of them, or all but trailing fields added later (``_ADDED``:
    left out when ``None``). A getter raises ``KeyError`` for a body without one of them."""
    names = _FIELDS[cls]
    added = _ADDED.get(cls, frozenset())
    n = len(names)
    out = {n + 1: _getter(names)}
    while n and names[n - 1] in added:
        n -= 1
        out[n + 1] = _getter(names[:n])
    return out


def _getter(names: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    if len(names) == 1:  # (``itemgetter`` of one name gives the value itself)
        name = names[0]
        return lambda body: (body[name],)
    get: Callable[[dict[str, Any]], tuple[Any, ...]] = operator.itemgetter(*names)
    return get


#: kind -> (class, body length -> the getter of the fields such a body holds)
_SHORT: dict[str, tuple[type, dict[int, Callable[[dict[str, Any]], tuple[Any, ...]]]]] = {
    name: (cls, _layouts(cls)) for name, cls in _TYPES.items()
}


def _built(kind: str, body: Any) -> Record | None:
    """The record of a body as this code writes it, else ``None`` (``_checked`` decides)."""
    entry = _SHORT.get(kind)
    if entry is None or type(body) is not dict:
        return None
    cls, layouts = entry
    get = layouts.get(len(body))
    if get is None or body.get("v") != RECORD_VERSION:
        return None
    try:
        values = get(body)
        if cls is Reply:
            d = values[2]
            action = _ACTIONS.get(d["action"])
            if action is None:
                return None
            decision = Decision(action, d["until_step"], d["checkpoint"], d["reason"])
            return Reply(values[0], values[1], decision)
        if cls is TrialEnded:
            outcome = _OUTCOMES.get(values[1])
            if outcome is None:
                return None
            return TrialEnded(values[0], outcome, *values[2:])
    except (KeyError, TypeError, ValueError):
        return None
    return cls(*values)  # type: ignore[no-any-return]


def dumps(record: Record) -> tuple[str, str]:
    kind, body = to_body(record)
    return kind, _ENCODER.encode(body)


#: the scanner ``json.loads`` runs (C's where it is built), called directly: a record's body
#: is about a hundred characters, and ``json.loads`` spends about as long getting to it
_DECODER = json.JSONDecoder()  # json.loads's own settings
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def loads(kind: str, text: str) -> Record:
    if type(text) is str:
        # ``json.loads`` without its wrapper: the same scan from the first character; a body
        # it would reject or read otherwise (leading or trailing whitespace, a BOM, bad JSON)
        # takes ``json.loads`` itself below, for its exact result or error
        try:
            body, end = _SCAN(text, 0)
        except (StopIteration, ValueError):
            end = -1
        if end == len(text):
            record = _built(kind, body)
            return record if record is not None else _checked(kind, body)
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
