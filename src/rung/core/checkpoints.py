"""``Checkpoints``: the engine's checkpoint lifecycle (reference counts and the best N kept).

Part of the engine (``rung.core.engine`` owns one and calls it; it changes nothing else but
the ``History``'s checkpoint of a trial: set when it saves one, or starts from a donor's, and
cleared (``None``) when the checkpoint it names is deleted, so ``Trial.checkpoint`` never names
a deleted directory). A checkpoint is deleted when nobody
needs it any more: its trial saved a newer one or ended for good (unless it is among the
``keep_checkpoints`` best finished trials), and no forked trial still starts from it. Paused
and interrupted trials keep theirs. Deleting is a ``DeleteCheckpoint`` command: the engine
itself touches no file.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

from rung.core.events import CheckpointSaved, Command, DeleteCheckpoint
from rung.core.history import History
from rung.core.records import Checkpoint, Outcome


class Checkpoints:
    """Who still needs each checkpoint, its size, and the best finished trials' kept ones.

    ``nbytes`` is the total size of the checkpoints still referenced; ``len()`` their number.
    """

    __slots__ = ("_kept", "_named", "_refs", "_size", "held", "nbytes")

    def __init__(self) -> None:
        self._refs: dict[str, set[int]] = {}
        # every trial whose History checkpoint was set to the path (a fork names its donor's,
        # and a donor keeps naming its own after it retires while a fork still needs it)
        self._named: dict[str, set[int]] = {}
        self._size: dict[str, int] = {}
        self._kept: list[tuple[float, int, str]] = []
        # trials ended for good whose checkpoint their scheduler still needs (a PBT fork
        # planned from it, not launched yet), with their outcome: retired once it does not
        self.held: dict[int, Outcome] = {}
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._refs)

    def paths(self) -> frozenset[str]:
        """The paths still referenced (a trial's own checkpoint, a fork's donor's, a kept
        best one): what must stay on disk."""
        return frozenset(self._refs)

    def on_saved(self, history: History, ev: CheckpointSaved, out: list[Command]) -> None:
        """Trial ``ev.trial_id`` saved a checkpoint: it replaces the trial's previous one,
        which is released."""
        old = history.checkpoint(ev.trial_id)
        history._checkpoint(ev.trial_id, Checkpoint(ev.step, ev.path))
        self.ref(ev.trial_id, ev.path, ev.size)
        if old is not None and old.path != ev.path:
            self.unref(history, ev.trial_id, old.path, out)

    def ref(self, trial_id: int, path: str, size: int = 0) -> None:
        """``trial_id`` needs the checkpoint at ``path`` (its own, or a forked trial's donor's);
        ``size`` counts only when the path is new."""
        refs = self._refs.get(path)
        if refs is None:
            refs = self._refs[path] = set()
            self._size[path] = int(size)
            self.nbytes += int(size)
        refs.add(trial_id)
        self._named.setdefault(path, set()).add(trial_id)

    def unref(self, history: History, trial_id: int, path: str, out: list[Command]) -> None:
        """``trial_id`` no longer needs ``path``; once nobody does, it is deleted, and every
        trial whose checkpoint still names it has none from then on."""
        refs = self._refs.get(path)
        if refs is None:
            return
        refs.discard(trial_id)
        if not refs:
            del self._refs[path]
            self.nbytes -= self._size.pop(path, 0)
            out.append(DeleteCheckpoint(trial_id, path))
            for tid in sorted(self._named.pop(path, ())):
                c = history.checkpoint(tid)
                if c is not None and c.path == path:
                    history._checkpoint(tid, None)

    def retire(self, history: History, trial_id: int, outcome: Outcome, keep: int,
               max_step: int, out: list[Command],
               needed: Callable[[int], bool] | None = None) -> None:
        """Trial ``trial_id`` ended for good with ``outcome``: its checkpoint is released, or
        kept while the trial is among the ``keep`` best completed at ``max_step`` (the one it
        pushes out is released instead). While ``needed(trial_id)`` (its scheduler will start
        a trial from it: ``Scheduler.needs_checkpoint``) it is held instead, and retired so by
        ``release`` once it is not needed any more."""
        if needed is not None and needed(trial_id):
            self.held[trial_id] = outcome
            return
        c = history.checkpoint(trial_id)
        if c is None:
            return
        # only final results compete for the kept places: a stopped trial's low-fidelity score
        # says nothing against a completed one's (its checkpoint goes when it stops)
        if keep > 0 and outcome is Outcome.COMPLETED and (
            history.last_step(trial_id) >= max_step
        ):
            entry = (history.score(trial_id), trial_id, c.path)
            bisect.insort(self._kept, entry)
            if len(self._kept) <= keep:
                return
            _, evicted, path = self._kept.pop()
            self.unref(history, evicted, path, out)
        else:
            self.unref(history, trial_id, c.path, out)

    def release(self, history: History, keep: int, max_step: int, out: list[Command],
                needed: Callable[[int], bool]) -> None:
        """Retire (``retire``) the held checkpoints no longer ``needed``: the fork planned
        from it launched (holding its own reference), or the plan was given up."""
        for tid, outcome in list(self.held.items()):
            if not needed(tid):
                del self.held[tid]
                self.retire(history, tid, outcome, keep, max_step, out)


__all__ = ["Checkpoints"]
