"""rung.plot and `rung plot` (issue 16 item 2): every kind drawn from a simulated study and
checked for content through the matplotlib objects, not only for a file."""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import pytest

import rung
from rung.benchmarks import get_benchmark
from rung.cli.main import main

pytest.importorskip("matplotlib")
from rung import plot as P


def _asha(storage: object = None, n_trials: int = 40) -> rung.Study:
    b = get_benchmark("mf-hartmann3")
    s = rung.Study.create(
        "plots", b.space, objective=rung.Objective(b.metric, b.mode), searcher="random",
        scheduler=rung.ASHA(reduction_factor=3), max_step=b.max_step,
        budget=rung.Budget(n_trials=n_trials), seed=0, storage=storage,
    )
    return s.simulate(b, n_workers=4)


@pytest.fixture(scope="module")
def study() -> rung.Study:
    return _asha()


@pytest.fixture(scope="module")
def mo_study() -> rung.Study:
    s = rung.Study.create("mo", {"x": rung.Float(0, 1), "y": rung.Float(0, 1)},
                          objective=["a", "b"], searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=40), seed=1)
    while (t := s.ask()) is not None:
        x, y = t.params["x"], t.params["y"]
        s.tell(t.id, "completed", {"a": x, "b": (1 - x) ** 2 + y})
    return s


def _gids(ax, prefix: str) -> list:
    """Artists whose gid is ``prefix`` or, if it ends with "-", starts with it."""
    def match(gid: str) -> bool:
        return gid.startswith(prefix) if prefix.endswith("-") else gid == prefix

    return [a for a in (*ax.lines, *ax.collections) if match(a.get_gid() or "")]


def _with_values(s: rung.Study) -> int:
    return sum(1 for t in s.trials() if math.isfinite(t.score))


def test_optimization_history(study: rung.Study) -> None:
    fig = P.optimization_history(study)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "trial" and ax.get_ylabel().startswith("loss")
    series = _gids(ax, "trials-")  # one per status
    assert sum(len(p.get_offsets()) for p in series) == _with_values(study) \
        == len(study.history)
    (best,) = _gids(ax, "best")
    ys = best.get_ydata()
    assert all(b <= a for a, b in itertools.pairwise(ys))  # best so far never worsens
    assert ys[-1] == pytest.approx(study.best_value())


def test_learning_curves_show_outcomes_cutoffs_and_decisions(study: rung.Study) -> None:
    fig = P.learning_curves(study)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "step"
    from matplotlib.colors import to_hex

    curves = _gids(ax, "trials-")  # one collection of curves per outcome
    assert sum(len(c.get_segments()) for c in curves) == len(study.history)
    for c in curves:
        status = c.get_gid()[len("trials-"):]
        assert {to_hex(x) for x in c.get_color()} == {P.STATUS_COLORS[status]}
        assert len(c.get_segments()) == len([t for t in study.trials(status) if t.results])
    assert {"completed", "stopped"} <= {c.get_gid()[len("trials-"):] for c in curves}
    rungs = [s for s in study.engine.scheduler.fidelity_steps() if s < study.spec.max_step]
    assert len(_gids(ax, "rung-")) == len(rungs)
    (stops,) = _gids(ax, "stop")
    assert len(stops.get_offsets()) == len(study.trials("stopped"))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "rung cut-off (the scheduler's latest threshold)" in labels
    assert "stopped here" in labels


def test_optimization_history_best_line_follows_the_best_rule() -> None:
    """The best-so-far line counts the trials ``History.is_final`` counts: one completed by
    itself below ``max_step`` (the best trial), not a better one stopped early."""
    s = rung.Study.create("f", {"x": rung.Float(0, 1)}, objective="loss", searcher="random",
                          scheduler="fifo", max_step=9, budget=rung.Budget(n_trials=2), seed=0)
    for step, loss, how in ((3, 0.5, "completed"), (5, 0.1, "stopped")):
        t = s.ask()
        assert t is not None
        s.report(t.id, step, {"loss": loss})
        s.tell(t.id, how)
    (best,) = _gids(P.optimization_history(s).axes[0], "best")
    assert list(best.get_xdata()) == [0, 1] and list(best.get_ydata()) == [0.5, 0.5]
    assert s.best_trial is not None and s.best_trial.id == 0


def test_learning_curve_cutoffs_are_the_thresholds_the_scheduler_applied(
    study: rung.Study,
) -> None:
    """Each bar is the cutoff named by the last stop decision at that rung (ASHA's reason:
    'not in the top 1/3 (cutoff loss=X)'), not the worst value that passed the rung."""
    import re

    from rung.analysis_frames import study_fold

    latest: dict[int, float] = {}
    every: dict[int, list[float]] = {}
    for d in study_fold(study).decisions:
        m = re.search(r"\(cutoff loss=([-0-9.e+]+)\)", d.reason)
        if d.action == "stop" and m:
            latest[d.step] = float(m.group(1))  # loss, minimized: value == score
            every.setdefault(d.step, []).append(float(m.group(1)))
    assert latest, "ASHA stopped trials, naming its cutoff"
    ax = P.learning_curves(study).axes[0]
    bars = {int(line.get_gid()[len("cutoff-"):]): line for line in _gids(ax, "cutoff-")
            if line.get_gid()[len("cutoff-"):].isdigit()}
    assert set(bars) == set(latest)
    for step, line in bars.items():
        assert list(line.get_ydata()) == [latest[step], latest[step]]
        assert line.get_xdata()[0] < step < line.get_xdata()[1]
    labels = {t.get_gid(): t.get_text() for t in ax.texts}
    assert labels == {f"cutoff-label-{s}": f"{v:.3g}" for s, v in latest.items()}
    ranges = {line.get_gid(): list(line.get_ydata()) for line in _gids(ax, "cutoff-range-")}
    assert ranges == {f"cutoff-range-{s}": [min(v), max(v)] for s, v in every.items()
                      if max(v) > min(v)}
    # the old bar, the worst value that went on past the rung, is not what ASHA applied
    h = study.history
    worst_passed = {s: max(v for v, t in h.at_step(s) if h.last_step(t) > s) for s in latest}
    assert any(worst_passed[s] != latest[s] for s in latest)


def test_rung_occupancy(study: rung.Study) -> None:
    ax = P.rung_occupancy(study).axes[0]
    assert ax.get_ylabel() == "trials that reached the step"
    lines = _gids(ax, "rung-")
    steps = study.engine.scheduler.fidelity_steps()
    assert len(lines) == len(steps)
    for line in lines:
        s = int(line.get_gid().split("-")[1])
        assert line.get_ydata()[-1] == study.history.n_at_step(s)


def test_worker_timeline(study: rung.Study) -> None:
    ax = P.worker_timeline(study).axes[0]
    assert ax.get_ylabel() == "worker slot"
    slots = _gids(ax, "slot-")
    assert len(slots) == 4  # four simulated workers
    assert sum(len(c.get_paths()) for c in slots) == len(study.history)  # one run each
    assert "4 slots" in ax.get_title() and "busy" in ax.get_title()


def test_parallel_coordinates(study: rung.Study) -> None:
    fig = P.parallel_coordinates(study)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x0", "x1", "x2", "loss"]
    (lines,) = _gids(ax, "trials")  # one collection, a line per trial
    segments = lines.get_segments()
    assert len(segments) == _with_values(study)
    assert all([x for x, _ in seg] == [0, 1, 2, 3] for seg in segments)
    # coloured by value, the best trial drawn last (on top), at the bottom of the value axis
    assert segments[-1][-1][1] == 0.0 and segments[0][-1][1] == 1.0
    assert len(fig.axes) == 2  # the colour bar


def test_param_importance(study: rung.Study) -> None:
    ax = P.param_importance(study).axes[0]
    (bars,) = ax.containers
    assert len(bars) == 3
    assert sum(b.get_width() for b in bars) == pytest.approx(1.0)
    assert [t.get_text() for t in ax.get_yticklabels()] and "importance" in ax.get_title()


def test_param_importance_finds_the_parameter_that_matters() -> None:
    from rung.analysis import param_importance

    s = rung.Study.create("imp", {"a": rung.Float(0, 1), "b": rung.Float(1e-3, 1, log=True),
                                  "c": rung.Categorical(["x", "y", "z"])},
                          searcher="random", scheduler="fifo", budget=rung.Budget(n_trials=150))
    while (t := s.ask()) is not None:
        p = t.params
        s.tell(t.id, "completed", {"loss": 4 * (p["a"] - 0.5) ** 2 + 0.5 * (p["c"] == "x")})
    imp = param_importance(s.history)
    assert imp.n_trials == 150
    assert imp.importances["b"] < 0.05 < imp.importances["c"] < imp.importances["a"]


def test_pareto_front(mo_study: rung.Study) -> None:
    ax = P.pareto_front(mo_study).axes[0]
    assert ax.get_xlabel() == "a (min)" and ax.get_ylabel() == "b (min)"
    (front,) = _gids(ax, "front")
    (trials,) = _gids(ax, "trials")
    assert len(front.get_offsets()) == len(mo_study.pareto_front()) >= 2
    assert len(trials.get_offsets()) == 40


def test_pareto_front_needs_two_objectives(study: rung.Study) -> None:
    with pytest.raises(ValueError, match="one objective"):
        P.pareto_front(study)


def test_intermediate_slices(study: rung.Study) -> None:
    fig = P.intermediate_slices(study)
    axes = [a for a in fig.axes if a.get_visible()]
    assert [a.get_xlabel() for a in axes] == ["x0", "x1", "x2"]
    steps = study.engine.scheduler.fidelity_steps()
    for ax in axes:
        cols = _gids(ax, "step-")
        assert len(cols) == len(steps)
        for c in cols:
            s = int(c.get_gid().split("-")[1])
            assert len(c.get_offsets()) == study.history.n_at_step(s)


@pytest.mark.parametrize("suffix", [".png", ".svg", ".html"])
def test_save_writes_the_format(study: rung.Study, tmp_path: Path, suffix: str) -> None:
    out = P.save(P.learning_curves(study), tmp_path / f"c{suffix}")
    data = out.read_bytes()
    if suffix == ".png":
        assert data.startswith(b"\x89PNG")
    else:
        assert b"<svg" in data


def test_cli_plot_every_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "j.db"
    _asha(db, n_trials=15).close()
    for kind in P.KINDS:
        out = tmp_path / f"{kind}.png"
        code = main(["plot", "plots", "--storage", str(db), "--kind", kind, "-o", str(out)])
        if kind == "pareto":
            assert code == 2 and "one objective" in capsys.readouterr().err
            continue
        assert code == 0, capsys.readouterr().err
        assert out.read_bytes().startswith(b"\x89PNG")
    assert main(["plot", "plots", "--storage", str(db), "-o", str(tmp_path / "x.txt")]) == 2


def test_cli_plot_to_a_path_it_cannot_write_is_one_line_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "j.db"
    _asha(db, n_trials=4).close()
    capsys.readouterr()
    before = sorted(tmp_path.iterdir())
    missing = tmp_path / "no" / "c.png"
    assert main(["plot", "plots", "--storage", str(db), "-o", str(missing)]) == 2
    assert capsys.readouterr() == ("", f"rung: error: -o {missing}: no such directory: "
                                       f"{missing.parent}\n")
    (tmp_path / "d.png").mkdir()
    assert main(["plot", "plots", "--storage", str(db), "-o", str(tmp_path / "d.png")]) == 2
    assert capsys.readouterr() == ("", f"rung: error: -o {tmp_path / 'd.png'}: is a directory "
                                       "(name a file)\n")
    assert sorted(tmp_path.iterdir()) == sorted([*before, tmp_path / "d.png"])


def test_missing_matplotlib_says_which_extra(study: rung.Study,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'rung\[plot\]'"):
        P.optimization_history(study)


def test_optimization_history_best_so_far_leaves_out_failed_trials() -> None:
    s = rung.Study.create("f", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                          scheduler="fifo", max_step=2, budget=rung.Budget(n_trials=3))
    for loss, how in [(0.9, "completed"), (0.1, "failed"), (0.6, "completed")]:
        t = s.ask()
        assert t is not None
        s.report(t.id, 2, {"loss": loss})
        s.tell(t.id, how)
    (best,) = _gids(P.optimization_history(s).axes[0], "best")
    assert list(best.get_xdata()) == [0, 2] and list(best.get_ydata()) == [0.9, 0.6]
    assert s.best_value() == 0.6
