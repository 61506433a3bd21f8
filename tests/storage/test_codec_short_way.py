"""``codec.loads`` reads the bodies this code writes the short way (``_built``), and every other
body the long way (``_checked``, with ``json.loads``): both give the very same record, and a
body the short way does not take gives the error it always gave."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rung.core.events import (
    COMMAND_TYPES,
    EVENT_TYPES,
    Action,
    BudgetChanged,
    Cancel,
    CapacityChanged,
    CheckpointSaved,
    Decision,
    DeleteCheckpoint,
    Launch,
    ParamsUsed,
    Record,
    Reply,
    ResultReported,
    StopSearch,
    Tick,
    TrialEnded,
    TrialEnqueued,
    TrialRetried,
    TrialStarted,
)
from rung.core.records import Outcome
from rung.errors import JournalError
from rung.storage import codec

RECORDS: list[Record] = [
    TrialStarted(3, 1.5),
    ResultReported(3, 2, {"loss": 0.25, "acc": float("nan"), "n": 7}, 2.5),
    CheckpointSaved(3, 2, "/ckpt/3/2", 2.75),
    CheckpointSaved(3, 2, "/ckpt/3/2", 2.75, 1024),
    TrialEnded(3, Outcome.STOPPED, 3.0),
    TrialEnded(3, Outcome.FAILED, 3.0, "boom"),
    TrialEnded(3, Outcome.COMPLETED, 3.0, None, True),
    CapacityChanged(8, 0.0),
    CapacityChanged(8, 0.0, True, {"cpu": 1.0}, {"name": "simulated"}),
    Tick(4.0),
    TrialRetried(5, 4.5),
    ParamsUsed(1, {"x": 0.5}, {"x": {"type": "float", "low": 0.0, "high": 1.0}}, 5.0),
    TrialEnqueued({"x": 0.25}, 5.5),
    BudgetChanged({"n_trials": 20, "max_time": None, "max_steps": None}, 6.0),
    Launch(0, {"x": 0.5, "c": "a"}, 1, 3, 27),
    Launch(0, {"x": 0.5}, 4, 9, 27, "/ckpt/0/3"),
    Reply(3, 2, Decision(Action.CONTINUE, 9, False, "rank 1/2 at rung 0 (step 1)")),
    Reply(3, 2, Decision.stop("not in the top 1/3")),
    Reply(3, 2, Decision.pause("paused")),
    Cancel(4, "retired"),
    DeleteCheckpoint(4, "/ckpt/4/1"),
    StopSearch("enough", {"regret": 0.1}),
]


def _same(a: Any, b: Any) -> bool:
    """The same record, field by field, of the same types (an enum is not its string; a
    NaN metric is not equal to itself, so the texts are compared)."""
    return type(a) is type(b) and repr(a) == repr(b) and all(
        type(getattr(a, f)) is type(getattr(b, f)) for f in a.__dataclass_fields__)


def _outcome(kind: str, text: Any, way: Any) -> tuple[str, Any]:
    try:
        return "ok", way(kind, text)
    except JournalError as e:
        return "error", str(e)


def _long_way(kind: str, text: Any) -> Record:
    """What ``loads`` did before it had a short way."""
    try:
        body = json.loads(text)
    except (TypeError, ValueError) as e:
        raise JournalError(f"unreadable {kind} record: {e}") from None
    return codec._checked(kind, body)


def test_every_record_kind_is_covered() -> None:
    assert {type(r) for r in RECORDS} == {*EVENT_TYPES, *COMMAND_TYPES}


@pytest.mark.parametrize("record", RECORDS, ids=repr)
def test_a_written_body_reads_back_the_short_way_as_the_long_way_does(record: Record) -> None:
    kind, text = codec.dumps(record)
    body = json.loads(text)
    short = codec._built(kind, body)
    assert short is not None  # this code's bodies take the short way
    assert _same(short, record)
    assert _same(codec.loads(kind, text), _long_way(kind, text))
    assert _same(codec.from_body(kind, body), codec._checked(kind, body))


_REPLY = ('{"v":1,"trial_id":1,"step":2,"decision":{"action":"stop","until_step":null,'
          '"checkpoint":false,"reason":"x"}}')

ODD: list[tuple[str, Any]] = [
    ("Reply", " " + _REPLY + "\n"),  # whitespace around it: json.loads reads it
    ("Reply", "\ufeff" + _REPLY),  # a BOM: json.loads refuses it
    ("Reply", _REPLY.replace('"stop"', '"halt"')),  # no such action
    ("Reply", _REPLY.replace('"stop"', '["stop"]')),
    ("Reply", _REPLY.replace(',"reason":"x"', "")),  # a decision without its reason
    ("Reply", '{"v":1,"trial_id":1,"step":2,"decision":[1]}'),
    ("Reply", _REPLY.replace('"step":2,', '"step":2,"extra":3,')),  # an unknown field
    ("Reply", _REPLY.replace('"step":2,', "")),  # a missing field
    ("Reply", _REPLY.replace('"v":1', '"v":2')),  # a newer format
    ("Reply", _REPLY.replace('"v":1', '"v":true')),  # equal to 1, as the long way says
    ("Reply", _REPLY.replace('"v":1,', '"w":1,')),
    ("TrialEnded", '{"v":1,"trial_id":0,"outcome":"weird","time":1.5,"error":null}'),
    ("TrialEnded", '{"v":1,"trial_id":0,"outcome":{},"time":1.5,"error":null}'),
    ("TrialEnded", '{"v":1,"trial_id":0,"outcome":"stopped","time":1.5}'),  # no error: long
    ("TrialEnded", '{"v":1,"trial_id":0,"outcome":"stopped","time":1.5,"told":null}'),
    ("CapacityChanged", '{"v":1,"capacity":8,"time":0.0}'),
    ("Launch", '{"v":1,"trial_id":0,"params":{},"start_step":1,"until_step":1,"max_step":3}'),
    ("Launch", b'{"v":1,"trial_id":0,"params":{},"start_step":1,"until_step":1,"max_step":3,'
               b'"checkpoint":null}'),  # a BLOB
    ("Launch", b"\xff\xfe"),
    ("Launch", '{"v":1,"trial_id":0'),
    ("Launch", "[1, 2]"),
    ("Launch", ""),
    ("Launch", '{"v":1} {}'),
    ("Nope", '{"v":1}'),
    ("Tick", '{"v":1,"time":NaN}'),
    ("Tick", None),
]


@pytest.mark.parametrize(("kind", "text"), ODD, ids=repr)
def test_any_other_body_reads_or_fails_as_it_always_did(kind: str, text: Any) -> None:
    new, old = _outcome(kind, text, codec.loads), _outcome(kind, text, _long_way)
    assert new[0] == old[0]
    if new[0] == "ok":
        assert _same(new[1], old[1])
    else:
        assert new[1] == old[1]
