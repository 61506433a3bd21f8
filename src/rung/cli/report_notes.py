"""``rung show``'s notes on a study it cannot simply show: which code wrote its journal and
can resume it (``version_lines``, ``resume_needs``, ``resume_note``), and how to go on with the
trials a stopped driver or an ``ask`` left running (``unfinished_notes``, ``asked_trials``,
``paused_as_written``). Part of ``rung.cli.report``, which re-exports them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rung.cli.stored import storage_flag
from rung.core.events import CapacityChanged, Launch, Record, TrialStarted, is_event
from rung.core.records import TrialStatus
from rung.study import Study


def search_over(study: Study) -> bool:
    """The search is over: nothing left to start (budget spent, stop rule, searcher or
    scheduler exhausted) and no trial running, the rule ``rung ls`` calls ``done``: no later
    trial can change that no trial is feasible."""
    h = study.engine.history
    running = h.count(TrialStatus.LAUNCHED) + h.count(TrialStatus.RUNNING)
    return not running and not study.engine.summary()["budget_left"]


def version_lines(study: Study) -> list[str]:
    """``rung show``'s line on the code that wrote the journal, when it is not this rung
    (``engine.version_note``, which ``Study.load`` sets: the releases and each algorithm
    version that differs, with its ``changes``), then ``(replays exactly with this rung;
    `rung resume` goes on with this rung's algorithms)``; none when this code wrote it.

    A journal whose replay diverged was read as written (``engine.read_as_written``): then
    the first line says so, from which event, and which code can resume it
    (``resume_needs``); the second, what differs (every quoted change)."""
    written = study.engine.read_as_written
    note = study.engine.version_note
    if written is not None:
        why = f" ({note})"
        if note is None or not written.endswith(why):  # a bug: the marker says so itself
            return [f"  versions   shown as written: {written}; {resume_needs(study)}"]
        return [f"  versions   shown as written: {written[:-len(why)]}; {resume_needs(study)}",
                f"             ({note})"]
    if note is None:
        return []
    return [f"  versions   {note}", "             (replays exactly with this rung; `rung "
            "resume` goes on with this rung's algorithms)"]


def resume_needs(study: Study) -> str:
    """Which code can resume a study read as written (``version_lines``): the build of rung
    that wrote its journal (``rung.core.versions.writer``): ``resuming it needs a build of
    rung 0.1.0 with scheduler PBT version 4 (this one has 13)``."""
    from rung.core.registry import lookup
    from rung.core.versions import writer

    spec = study.spec
    w = spec.written_by
    if study.engine.version_note is None or w is None:
        return ("this rung cannot resume it (the journal records this very code: a bug, or "
                "the study's spec was changed after it was written)")
    # (the engine's scheduler follows the journal: name the study's own)
    who = writer(w, lookup("searcher", spec.searcher.name),
                 lookup("scheduler", spec.scheduler.name))
    return f"resuming it needs {who}"


def resume_note(study: Study) -> str | None:
    """For ``rung resume`` to print before it runs a study whose journal another rung (or
    algorithm version) wrote: ``rung: study <name>: <engine.version_note>; this run goes on with
    this rung's algorithms``; ``None`` when this code wrote it."""
    note = study.engine.version_note
    if note is None:
        return None
    return f"rung: study {study.name}: {note}; this run goes on with this rung's algorithms"


_RUNNING = (TrialStatus.LAUNCHED, TrialStatus.RUNNING)


def unfinished_notes(study: Study, where: str, running: int) -> list[str]:
    """``rung show``'s notes on the ``running`` trials of a study no driver runs: how to go on
    with the trials an ask started (``report`` / ``tell``) and with the others (``rung resume``
    runs only what ``rung run`` created: it needs the objective on record). A study read as
    written cannot be continued by this rung: the notes say which code can."""
    from rung.cli.spec import CLI_KEY
    from rung.integrations._embedded import HOST_KEY

    stored = study.journal.load_study(study.name)
    host = stored.get(HOST_KEY)
    as_written = study.engine.read_as_written is not None
    cannot = "this rung shows the study as written and cannot {} them; " + (
        resume_needs(study) if as_written else "")
    if isinstance(host, str):
        how = (f"{host} drove this study and ran its trials: rung cannot resume them "
               "(a new run of the tool journals a new study)")
    elif as_written:
        how = cannot.format("end or resume")
    elif isinstance(stored.get(CLI_KEY), Mapping):
        how = (f"`rung resume {study.name}{storage_flag(where, study.name)}` ends them as "
               "interrupted and resumes them")
    else:
        how = ("it was not created by `rung run`: resume it from Python, "
               f"Study.load({study.name!r}, storage={str(where)!r}).run(objective)")
    # a tool drives its study through ask / tell: its note stands for all its trials
    asked = ([] if isinstance(host, str)
             else asked_trials(study._journal_records(), study.history.ids(_RUNNING)))
    lines = []
    if asked:
        named = (f"{len(asked)} trial(s) asked (Study.ask) and never told: "
                 f"{', '.join(f'#{t}' for t in asked)}")
        lines.append(f"  note: {named}; " + (
            cannot.format("report or tell") if as_written else
            f"go on with them from Python, Study.load({study.name!r}, storage={str(where)!r}), "
            "then report / tell them by id (tell(id) ends one as its scheduler decided, else "
            "completed; tell(id, 'interrupted') one that cannot go on)"))
    if len(asked) < running:
        lines.append(f"  note: {running - len(asked)} trial(s) were running when the driver "
                     f"stopped; {how}")
    return lines


def paused_as_written(study: Study, c: Mapping[str, int], ids: int = 8) -> list[str]:
    """``rung show``'s note on the paused trials of a study read as written whose search is
    over: a scheduler that retired a paused trial past the divergence without a record of it
    (PBT before its version 10: no ``Cancel``, no checkpoint to delete) leaves it paused
    here; the rung that wrote the journal may show it stopped."""
    if not c["paused"] or study.engine.read_as_written is None or not search_over(study):
        return []
    paused = [t.id for t in study.trials("paused")]
    named = ", ".join(f"#{t}" for t in paused[:ids]) + (
        f", +{len(paused) - ids} more" if len(paused) > ids else "")
    return [f"  note: {len(paused)} trial(s) paused as written ({named}): their scheduler may "
            "have retired them past the divergence without a record of it (PBT before its "
            "version 10 did), and the rung that wrote the journal may show them stopped"]


def asked_trials(records: Sequence[Record], running: Sequence[int]) -> list[int]:
    """Which of the ``running`` trials an ``ask`` started (``rung show``'s advice for them is
    ``report`` / ``tell``, not a ``run``): ``Study.ask`` journals, in one turn, the slot it
    takes (a ``CapacityChanged`` that opens no session), the trial's ``Launch`` and its
    ``TrialStarted`` at that slot's very time; a driver's trial starts in a later turn, at
    its worker's time, and a session opens with ``new_session``."""
    want = set(running)
    started: dict[int, int] = {}  # trial -> index of its last TrialStarted
    for i, r in enumerate(records):
        if type(r) is TrialStarted and r.trial_id in want:
            started[r.trial_id] = i
    out = []
    for tid, i in sorted(started.items()):
        if i < 1 or type(launch := records[i - 1]) is not Launch or launch.trial_id != tid:
            continue
        j = i - 2
        while j >= 0 and not is_event(records[j]):  # the slot's other commands
            j -= 1
        cap = records[j] if j >= 0 else None
        if (type(cap) is CapacityChanged and not cap.new_session
                and cap.time == records[i].time):  # type: ignore[union-attr]
            out.append(tid)
    return out


__all__ = ["asked_trials", "paused_as_written", "resume_needs", "resume_note", "search_over",
           "unfinished_notes", "version_lines"]
