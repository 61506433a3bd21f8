"""PBT's version history: what changed in its decisions at each algorithm version
(``rung.schedulers.pbt.PBT.version``). ``PBT.changes`` is this table; ``rung.core.versions`` quotes
it when a study's journal was written by another version (``rung show``, ``Study.load``)."""

from __future__ import annotations

#: version -> what changed at it, in the order the versions were described
PBT_CHANGES: dict[int, str] = {
    13: "a pause the driver's stop cut short (a kill or Ctrl-C while the member saved its "
    "pause checkpoint; the end journaled with the driver-stopped error) no longer ends "
    "the run as 'PBT needs checkpoints': the member waits paused and resumes from its last "
    "checkpoint (before: the resumed study ended after a few trials, for good)",
    12: "a member that pauses without a checkpoint of its step, or top members that went "
    "on without one when a member is to be exploited, end the run: 'PBT needs checkpoints: "
    "trial 0 paused at step 4 without saving a checkpoint there; pass save= ...' (before: a "
    "time-shared member was resumed from scratch into the same pause for ever, whatever "
    "Budget.n_trials said; an asynchronous population ran on without exploits, unsaid)",
    11: "an exploited member keeps its place in the ranking, with its own last result, "
    "until its fork reports (before: it left the ranking until its fork started, the "
    "next members judged at that step were ranked in a smaller population, and with the "
    "worst reporting first 3 of 4 members were exploited at a step whose bottom is 1); a "
    "fork whose planned donor ended before it started forks from the donor's recorded "
    "checkpoint (before: a donor had to be live, and with Budget.n_trials spent the "
    "exploited member's place was lost silently); a place no fork nor new member can "
    "fill is listed in state()['lost_places'] with why",
    10: "the reason of a decision taken on a paused trial is journaled: a Cancel of a retired "
    "trial with its rank and quota (or its exploit), a Reply on a resumed trial's last "
    "result saying why it was promoted (decisions unchanged; an older rung cannot replay "
    "such a journal)",
    2: "a population larger than the worker slots time-shares: members pause at every "
    "interval step while others wait, the member furthest behind resumes, and each "
    "generation's bottom quantile is exploited at once (before: members ran to max_step "
    "one after another and nobody was exploited until the last ones)",
    3: "time-sharing with real workers, which honour a pause at their next report: only "
    "members whose pause has happened are resumed (before: one still running could be "
    "picked, and the engine refused it), and a member exploited while its pause was on "
    "its way ends stopped once it pauses (before: it stayed paused for good)",
    4: "a failed member (or one interrupted too often) is replaced by a fork of a top "
    "member (before: the population shrank for good and its worker slot idled); explore "
    "snaps a stepped number to the nearest grid point inside its range and moves one that "
    "would not move by a grid step (before: snapping down left some stuck, e.g. Int(2, 64, "
    "step=2) at 4 and 6 going up, and a float whose range ends off its grid could be "
    "pushed off it, which raised SpaceError)",
    5: "when no new member can start (Budget.n_trials below population_size, or the "
    "searcher exhausted) the members started so far are the population, the generation "
    "they wait at is judged and they train on (before: they stayed paused at the first "
    "interval for good); a top member whose pause is on its way counts as a donor when a "
    "generation is judged (before: nobody was exploited); hyperparams=[] and a name given "
    "twice are refused",
    6: "a member is never ranked against a result from a step it has not reached: a member "
    "ahead counts with its result at the reporter's step (before: with its latest, so a "
    "slower member was exploited for being behind); the donor and explored values are "
    "drawn when a member is judged, and the stop's reason quotes values, donor and "
    "changes; forks are tagged from_step; a fork no longer waits for a paused top member "
    "that saved no checkpoint at the generation's step (before: the study stalled)",
    7: "a paused member that saved no checkpoint at a generation's step is no donor (before: "
    "the generation's bottom was exploited and its forks waited for good, or became new "
    "members); a place that neither a fork nor a new member (Budget.n_trials spent) can "
    "fill is lost and the paused members resume (before: all could stay paused for good)",
    8: "the reporter is compared with each member at the latest interval step both reached "
    "(before: with every member's latest result, so a member always first to arrive at "
    "an interval step was compared with results one interval older than its own and, on "
    "an improving curve, seldom exploited); donors are drawn from the top of the members "
    "that beat it; exploit reasons drop the '(top k: cutoff)' part, which no longer "
    "decides",
    9: "a member that reports every few steps is judged at its first result past each "
    "interval step (before: only results exactly at an interval step counted, so with "
    "reports at 5, 10, 15 and perturbation_interval=4 nobody was ever judged or asked "
    "for a checkpoint); members that report every step decide as before",
}
