"""Former home of the wire protocol and the worker loop, kept so existing imports work.

New code imports ``rung.executors.protocol`` (tags, encode / decode) and
``rung.executors.worker`` (``TrialContext``, ``worker_loop``) directly.
"""

from __future__ import annotations

from rung.executors.protocol import (
    A_CONTINUE,
    A_PAUSE,
    A_STOP,
    ENDED,
    EVENT_TAGS,
    INIT_ERROR,
    LAUNCH,
    READY,
    REPLY,
    RESULT,
    SAVED,
    Message,
    decision_of,
    decode,
    encode_launch,
    encode_reply,
    message_time,
)
from rung.executors.worker import (
    Channel,
    SaveFn,
    TrialContext,
    WorkerExit,
    dir_size,
    plain_metrics,
    run_trial,
    worker_loop,
)

__all__ = [
    "A_CONTINUE",
    "A_PAUSE",
    "A_STOP",
    "ENDED",
    "EVENT_TAGS",
    "INIT_ERROR",
    "LAUNCH",
    "READY",
    "REPLY",
    "RESULT",
    "SAVED",
    "Channel",
    "Message",
    "SaveFn",
    "TrialContext",
    "WorkerExit",
    "decision_of",
    "decode",
    "dir_size",
    "encode_launch",
    "encode_reply",
    "message_time",
    "plain_metrics",
    "run_trial",
    "worker_loop",
]
