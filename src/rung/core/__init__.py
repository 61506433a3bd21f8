"""The pure core: records, events, commands, decisions, history, rng, engine, registry.

Nothing in this package reads a clock, touches global random state, does I/O or imports storage
or executors; ``tests/core/test_purity.py`` enforces it.
"""

from rung.core.components import (
    BindContext,
    Component,
    EndRequest,
    Fork,
    NextTrial,
    ResultRequest,
    Resume,
    Scheduler,
    Searcher,
    StartNew,
    SuggestRequest,
)
from rung.core.engine import Engine
from rung.core.events import (
    Action,
    Cancel,
    CapacityChanged,
    CheckpointSaved,
    Command,
    Decision,
    DeleteCheckpoint,
    Event,
    Launch,
    Record,
    Reply,
    ResultReported,
    Tick,
    TrialEnded,
    TrialRetried,
    TrialStarted,
)
from rung.core.history import History
from rung.core.records import (
    Budget,
    Checkpoint,
    ComponentSpec,
    Objective,
    Outcome,
    Result,
    StudySpec,
    Trial,
    TrialStatus,
)
from rung.core.rng import derive_rng

__all__ = [
    "Action",
    "BindContext",
    "Budget",
    "Cancel",
    "CapacityChanged",
    "Checkpoint",
    "CheckpointSaved",
    "Command",
    "Component",
    "ComponentSpec",
    "Decision",
    "DeleteCheckpoint",
    "EndRequest",
    "Engine",
    "Event",
    "Fork",
    "History",
    "Launch",
    "NextTrial",
    "Objective",
    "Outcome",
    "Record",
    "Reply",
    "Result",
    "ResultReported",
    "ResultRequest",
    "Resume",
    "Scheduler",
    "Searcher",
    "StartNew",
    "StudySpec",
    "SuggestRequest",
    "Tick",
    "Trial",
    "TrialEnded",
    "TrialRetried",
    "TrialStarted",
    "TrialStatus",
    "derive_rng",
]
