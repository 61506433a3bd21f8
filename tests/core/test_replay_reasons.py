"""Replay compares decisions, not their wording: a journal whose reasons were written in older
words (``journal_old_reasons.json``: ASHA, the median rule and CurveASHA maximizing accuracy,
written when reasons quoted lower-is-better scores, ``"cutoff score -0.4959"``) replays, and
keeps its text; a journal whose *decision* differs in any other field still raises
``ReplayDivergenceError``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from rung import ReplayDivergenceError, Study
from rung.core import Decision, Reply
from rung.core.events import Action, Cancel, DeleteCheckpoint, StopSearch
from rung.core.replay import _same
from rung.storage import MemoryJournal
from rung.storage.codec import from_body, to_body

FIXTURE = json.loads((Path(__file__).parent / "journal_old_reasons.json").read_text())
NAMES = ("asha", "median", "curve")
#: a phrase of the old wording each fixture study holds (it quotes scores, not accuracies)
OLD_WORDS = {"asha": "(cutoff score -0.", "median": "worse than the median -0.",
             "curve": "predicted final -0."}


def load(name: str, records: list[Any] | None = None) -> Study:
    st = FIXTURE[name]
    j = MemoryJournal()
    j.create_study(name, st["spec"])
    j.append(name, [from_body(k, b) for k, b in (records or st["records"])])
    return Study.load(name, j)


def replies(name: str) -> list[tuple[int, dict[str, Any]]]:
    return [(i, b) for i, (k, b) in enumerate(FIXTURE[name]["records"]) if k == "Reply"]


@pytest.mark.parametrize("name", NAMES)
def test_a_journal_in_the_old_wording_replays_and_keeps_its_text(name: str) -> None:
    old = [b["decision"]["reason"] for _, b in replies(name)]
    assert any(OLD_WORDS[name] in r for r in old)
    study = load(name)  # no ReplayDivergenceError
    assert len(study.trials()) == FIXTURE[name]["spec"]["budget"]["n_trials"]
    assert [list(to_body(r)) for r in study.journal.read(name)] == FIXTURE[name]["records"]
    assert study.engine.tail == []  # nothing regenerated past the journal's end


@pytest.mark.parametrize("name", NAMES)
def test_any_reason_text_replays(name: str) -> None:
    records = copy.deepcopy(FIXTURE[name]["records"])
    for i, _ in replies(name):
        records[i][1]["decision"]["reason"] = "words"
    load(name, records)


def _first(name: str, action: str) -> int:
    return next(i for i, b in replies(name) if b["decision"]["action"] == action)


@pytest.mark.parametrize(
    ("name", "action", "change"),
    [
        # a stop becomes a continue (same reason text)
        ("asha", "stop", {"action": "continue", "until_step": 3}),
        # the lease of a continue moves
        ("asha", "continue", {"until_step": 9}),
        # a stop of the median rule becomes a continue
        ("median", "stop", {"action": "continue", "until_step": 2}),
        # a pause without its checkpoint request
        ("curve", "pause", {"checkpoint": False}),
        # a pause becomes a stop
        ("curve", "pause", {"action": "stop", "checkpoint": False}),
    ],
)
def test_a_different_decision_still_diverges(
    name: str, action: str, change: dict[str, Any]
) -> None:
    records = copy.deepcopy(FIXTURE[name]["records"])
    i = _first(name, action)
    records[i][1]["decision"].update(change)
    with pytest.raises(ReplayDivergenceError, match="replay diverged at event"):
        load(name, records)


def test_a_reply_to_another_trial_or_step_still_diverges() -> None:
    for key, delta in (("trial_id", 1), ("step", 1)):
        records = copy.deepcopy(FIXTURE["asha"]["records"])
        records[_first("asha", "stop")][1][key] += delta
        with pytest.raises(ReplayDivergenceError):
            load("asha", records)


def test_same_ignores_only_reason_texts() -> None:
    stop = Reply(3, 1, Decision.stop("cutoff score -0.9"))
    assert _same([stop], [Reply(3, 1, Decision.stop("cutoff accuracy=0.9"))])
    assert not _same([stop], [Reply(3, 1, Decision.pause("cutoff score -0.9"))])
    assert not _same([stop], [Reply(3, 1, Decision(Action.STOP, 3, False, "x"))])
    assert not _same([stop], [Reply(4, 1, Decision.stop("x"))])
    assert not _same([stop], [stop, stop])
    assert not _same([stop], [DeleteCheckpoint(3, "c")])
    assert _same([Cancel(2, "timed out")], [Cancel(2, "trial_timeout")])
    assert not _same([Cancel(2, "x")], [Cancel(1, "x")])
    assert _same([StopSearch("a", {"n": 1.0})], [StopSearch("b", {"n": 1.0})])
    assert not _same([StopSearch("a", {"n": 1.0})], [StopSearch("a", {"n": 2.0})])
