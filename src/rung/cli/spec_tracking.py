"""Spec key ``tracking``: mirror the run into MLflow, TensorBoard and/or W&B (issue 18).

::

    tracking:
      mlflow: {uri: http://127.0.0.1:5000, experiment: mlp}   # both optional
      tensorboard: {logdir: runs/tb}                           # default runs/tensorboard
      wandb: {project: mlp, mode: offline, dir: runs/wandb}    # all optional

A tracker given as ``true`` or with no value uses its defaults; ``false`` leaves it off. The
validated mapping is stored with the study (``rung resume`` tracks the same way). A tracker
whose library is not installed is a spec error naming the extra, found before anything is
written, and so is a ``logdir`` / ``dir`` that cannot be a directory (an existing file on its
path). ``rung run`` and ``rung resume`` then run each tracker's start check
(``run_checks.check_tracking``) before anything is written: a directory that cannot be created
(no permission, a read-only or kernel file system such as ``/proc``), W&B's online mode
without an API key, an MLflow server that does not answer is one line naming the option
(``spec.tracking.wandb.mode``), exit code 2. A tracker that fails once the run started (a
server that refuses, say) stops the run with a one-line ``RungError`` naming
``spec.tracking.<tracker>``, the journal intact.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rung._extras import not_installed
from rung.callbacks import Callback
from rung.cli.spec_error import SpecError, close_hint, kind_of
from rung.errors import RungError

if TYPE_CHECKING:
    from rung.core.events import Command, Event
    from rung.core.history import History
    from rung.study import Study

#: the top-level key this module reads
TRACKING_KEYS = ("tracking",)

# tracker -> (module it needs, extra that installs it, {option: kind})
_TRACKERS: dict[str, tuple[str, str, dict[str, str]]] = {
    "mlflow": ("mlflow", "mlflow", {"uri": "str", "experiment": "str", "tags": "str-map"}),
    "tensorboard": ("tensorboardX", "tensorboard", {"logdir": "str"}),
    "wandb": ("wandb", "wandb", {"project": "str", "entity": "str", "dir": "str",
                                 "mode": "mode", "tags": "str-list"}),
}
_WANDB_MODES = ("online", "offline", "disabled")
#: a tracker callback's argument -> the spec option that sets it (where they differ)
_SPEC_OPTION = {"tracking_uri": "uri"}
#: options that name a directory the tracker creates
_DIRS = {("tensorboard", "logdir"), ("wandb", "dir")}


def spec_tracking(top: Mapping[str, Any]) -> dict[str, dict[str, Any]] | None:
    """The spec's ``tracking``, validated: ``{tracker: {option: value}}`` with the trackers
    that are on (``None``: no tracking). Raises ``SpecError`` naming ``spec.tracking.<key>``."""
    value = top.get("tracking")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise SpecError("spec.tracking", "must be a mapping of trackers (mlflow, tensorboard, "
                        f"wandb) to their options, got {kind_of(value)}")
    out: dict[str, dict[str, Any]] = {}
    for name, options in value.items():
        key = f"spec.tracking.{name}"
        if name not in _TRACKERS:
            raise SpecError(key, f"unknown tracker{close_hint(name, _TRACKERS, given=value)} "
                            f"(known: {', '.join(_TRACKERS)})")
        if options is False:
            continue
        if options is None or options is True:
            options = {}
        if not isinstance(options, Mapping):
            raise SpecError(key, "must be true, false or a mapping of options, got "
                            f"{kind_of(options)}")
        module, extra, known = _TRACKERS[name]
        out[name] = {k: _option(f"{key}.{k}", known, k, v, options) for k, v in options.items()}
        for k, v in out[name].items():
            if (name, k) in _DIRS:
                out[name][k] = v = os.path.expanduser(v)  # YAML does not expand ~
                _check_dir(f"{key}.{k}", v)
        why = not_installed(module)
        if why is not None:
            raise SpecError(key, f"needs {module}, which is {why}: pip install 'rung[{extra}]'")
    return out or None


def _option(
    key: str, known: Mapping[str, str], name: Any, v: Any, given: Mapping[str, Any]
) -> Any:
    kind = known.get(name)
    if kind is None:
        raise SpecError(key, f"unknown option{close_hint(name, known, given=given)} "
                        f"(known: {', '.join(known)})")
    if kind in ("str", "mode"):
        if not isinstance(v, str) or not v:
            raise SpecError(key, f"must be a non-empty string, got {v!r}")
        if kind == "mode" and v not in _WANDB_MODES:
            raise SpecError(key, f"must be one of {', '.join(_WANDB_MODES)}, got {v!r}")
        return v
    if kind == "str-list":
        if not isinstance(v, Sequence) or isinstance(v, str) or not all(
                isinstance(t, str) for t in v):
            raise SpecError(key, f"must be a list of strings, got {v!r}")
        return list(v)
    if not isinstance(v, Mapping) or not all(
            isinstance(k, str) and isinstance(t, str) for k, t in v.items()):
        raise SpecError(key, f"must be a mapping of strings to strings, got {v!r}")
    return dict(v)


def _check_dir(key: str, value: str) -> None:
    """``value`` can be (or become) a directory: no existing file on its path."""
    p = Path(value)
    for q in (p, *p.parents):
        try:
            exists = q.exists()
        except OSError as e:  # a name too long for the file system, ...
            raise SpecError(key, f"{value!r} cannot be a directory: {e.strerror or e}") from None
        if exists:
            if not q.is_dir():
                raise SpecError(key, f"{value!r} cannot be a directory: {q} is a file")
            return


def tracking_callbacks(tracking: Mapping[str, Mapping[str, Any]] | None) -> list[Callback]:
    """The callbacks for a validated ``tracking`` (``spec_tracking``'s result, or the same
    read back from the journal)."""
    if not tracking:
        return []
    callbacks: list[Callback] = []
    for name, o in tracking.items():
        if name == "mlflow":
            from rung.integrations.mlflow import MLflowCallback

            callbacks.append(MLflowCallback(tracking_uri=o.get("uri"),
                                            experiment=o.get("experiment"),
                                            tags=o.get("tags")))
        elif name == "tensorboard":
            from rung.integrations.tensorboard import TensorBoardCallback

            callbacks.append(TensorBoardCallback(o.get("logdir", "runs/tensorboard")))
        elif name == "wandb":
            from rung.integrations.wandb import WandbCallback

            callbacks.append(WandbCallback(project=o.get("project"), entity=o.get("entity"),
                                           dir=o.get("dir"), mode=o.get("mode"),
                                           tags=o.get("tags", ())))
    return callbacks


def guarded_tracking_callbacks(
    tracking: Mapping[str, Mapping[str, Any]] | None,
) -> list[Callback]:
    """``tracking_callbacks``, each wrapped so that its failure is one line naming
    ``spec.tracking.<tracker>`` (what ``rung run`` and ``rung resume`` hand to the run)."""
    return [_Tracker(name, cb) for name, o in (tracking or {}).items()
            for cb in tracking_callbacks({name: o})]


class _Tracker(Callback):
    """A tracker's callback whose failure is one line naming the spec key: the tracker's own
    exception (an MLflow server that refuses, a directory that cannot be written...) becomes a
    ``RungError`` ``"spec.tracking.<name>: <Type>: <first line>"``, chained to the original."""

    def __init__(self, name: str, callback: Callback) -> None:
        self.name = name
        self.callback = callback

    def check(self, study_name: str) -> None:
        """The tracker's start check (``rung.integrations._tracking.check_trackers``), its
        failure named as the other hooks' are, down to the option at fault when the tracker
        names one (``TrackerError.option``): ``spec.tracking.wandb.mode: ...``."""
        check = getattr(self.callback, "check", None)
        if callable(check):
            try:
                check(study_name)
            except (RungError, ImportError) as e:
                first = (str(e).strip().splitlines() or [""])[0]
                option = getattr(e, "option", None)
                key = f"spec.tracking.{self.name}"
                if isinstance(option, str):
                    key += "." + _SPEC_OPTION.get(option, option)
                raise RungError(f"{key}: {first}") from e

    def on_start(self, study: Study) -> None:
        self._call(self.callback.on_start, study)

    def on_turn(
        self, events: Sequence[Event], commands: Sequence[Command], history: History
    ) -> None:
        self._call(self.callback.on_turn, events, commands, history)

    def on_end(self, study: Study) -> None:
        self._call(self.callback.on_end, study)

    def _call(self, hook: Callable[..., None], *args: Any) -> None:
        try:
            hook(*args)
        except RungError:
            raise
        except Exception as e:
            first = (str(e).strip().splitlines() or [""])[0]
            raise RungError(f"spec.tracking.{self.name}: {type(e).__name__}"
                            f"{': ' + first if first else ''}") from e


__all__ = ["TRACKING_KEYS", "guarded_tracking_callbacks", "spec_tracking", "tracking_callbacks"]
