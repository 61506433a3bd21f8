"""The figures of ``rung.plot`` over time and rungs (history, curves, occupancy, workers; the
parameters' figures: ``_param_figures``), ``plot`` by kind and ``save``; matplotlib is imported
only when one is drawn."""

from __future__ import annotations

import math
import re
import warnings
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rung.analysis_frames import decision_marks, occupancy
from rung.plot._cutoffs import decision_cutoffs
from rung.plot._draw import STATUS_COLORS, _data, _figure, _nothing_yet, _value
from rung.plot._finite_axes import finite_axes
from rung.plot._outliers import fit_bulk, note_not_finite
from rung.plot._param_figures import (
    intermediate_slices,
    parallel_coordinates,
    param_importance,
    pareto_front,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from rung.core.history import History
    from rung.study import Study


# --- the figures ----------------------------------------------------------------------------
def optimization_history(study: Study) -> Figure:
    """Each trial's value at its last step (by trial id), one series per status, each named
    in the legend by its status and colour (``STATUS_COLORS``); a trial that breaks a
    constraint drawn as an x, named "infeasible"; and the best final value so far (of the
    feasible trials whose result is final, ``History.is_final``: the value
    ``Study.best_trial`` has once the study ends)."""
    d = _data(study)
    h = d.history
    fig = _figure()
    ax = fig.add_subplot()
    by_status: dict[str, tuple[list[int], list[float]]] = {}
    bad_x: list[int] = []
    bad_y: list[float] = []
    best_x, best_y = [], []
    best = math.inf
    last = -1
    hidden = 0  # trials with a result whose value is not a number to draw
    for tid in h:
        v = _value(h, tid)
        if math.isnan(v):
            hidden += h.last_step(tid) > 0
            continue
        last = tid
        feasible = not h.constraints or h.feasibility(tid) is not False
        if feasible:
            xs, ys = by_status.setdefault(h.status(tid).value, ([], []))
            xs.append(tid)
            ys.append(v)
        else:  # however good it looks, it cannot be the best (Study.best_trial)
            bad_x.append(tid)
            bad_y.append(v)
        if feasible and h.is_final(tid) and h.counts_for_best(tid):  # as Study.best_trial
            s = h.score(tid)
            if s < best:
                best = s
            best_x.append(tid)
            best_y.append(h.objective.value(best))
    order = list(STATUS_COLORS)
    for status in sorted(by_status, key=lambda k: order.index(k) if k in order else len(order)):
        xs, ys = by_status[status]
        ax.scatter(xs, ys, color=STATUS_COLORS.get(status, "#777777"), s=14, gid=f"trials-{status}",
                   label=f"{status} (value at its last step)")
    if bad_x:
        ax.scatter(bad_x, bad_y, marker="x", color="#aaaaaa", s=16, gid="infeasible",
                   label="infeasible (a constraint is not met)")
    if last < 0:
        _nothing_yet(ax)
    if best_x:
        if last > best_x[-1]:  # the best so far holds up to the latest trial
            best_x.append(last)
            best_y.append(best_y[-1])
        ax.step(best_x, best_y, where="post", color="black", lw=1.5, gid="best",
                label="best final value so far" + (" (feasible)" if h.constraints else ""))
    fit_bulk(ax, h, [h.score(tid) for tid in h])
    note_not_finite(ax, hidden, "trials' values")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # trial ids
    ax.set_xlabel("trial")
    ax.set_ylabel(d.label())
    ax.set_title(f"{d.name}: optimization history")
    if last >= 0:
        ax.legend(loc="best", fontsize="small")
    return finite_axes(fig)


def learning_curves(study: Study) -> Figure:
    """Every trial's metric by step, coloured by outcome; each rung's step (dotted; none for a
    scheduler without rungs: FIFO, the median rule, PBT); the scheduler's cut-off (or the
    median rule's threshold) there as its decisions state it (``rung.plot._cutoffs``): a bar
    at the latest threshold, labelled with its value, and a thin line over the range the
    threshold moved through during the run; where trials were stopped (x) or paused (v): a
    pause that ended the trial is its stop (``rung.analysis_frames.decision_marks``). The
    completed trials are drawn over the stopped ones, the cut-offs over both, and the legend
    beside the axes."""
    d = _data(study)
    h, jf = d.history, d.fold
    fig = _figure(11, 5.5)
    ax = fig.add_subplot()
    curves: dict[str, list[list[tuple[float, float]]]] = {}  # status -> its trials' curves
    every: list[float] = []  # every result's score, for the value axis (``fit_bulk``)
    for tid in h:
        pts = sorted(h.scores(tid).items())
        every.extend(sc for _, sc in pts)
        if pts:
            curves.setdefault(h.status(tid).value, []).append(
                [(float(s), _v(h, sc)) for s, sc in pts])
    seen = set(curves)
    import numpy as np

    with np.errstate(over="ignore", invalid="ignore"):  # autoscaling values near +-1.7e308
        _draw_curves(ax, curves)  # (finite_axes keeps the limits drawable)
    if curves:
        fit_bulk(ax, h, every)
    note_not_finite(ax, sum(not math.isfinite(sc) for sc in every), "results")
    for s in d.steps if d.rungs else ():
        if s < d.max_step:
            ax.axvline(s, color="#999999", ls=":", lw=0.8, gid=f"rung-{s}")
    cut = decision_cutoffs(h, jf)
    for i, c in enumerate(cut.values()):
        s = c.step
        if c.high > c.low:
            ax.plot([s, s], [c.low, c.high], color="black", lw=1, gid=f"cutoff-range-{s}",
                    zorder=2.5,
                    label="range of the cut-off over the run" if i == 0 else None)
        ax.plot([s / 1.15, s * 1.15], [c.latest, c.latest], color="black", lw=3,
                solid_capstyle="butt", gid=f"cutoff-{s}", zorder=2.5,
                label=(None if i else "rung cut-off (the scheduler's latest threshold)"
                       if d.rungs else "threshold (the scheduler's latest)"))
        ax.annotate(f"{c.latest:.3g}", (s * 1.15, c.latest), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize="x-small",
                    gid=f"cutoff-label-{s}")
    marks = decision_marks(h, jf)
    for action, marker, color in (("stop", "x", "#d62728"), ("pause", "v", "#ff7f0e")):
        xs, ys = [], []
        for dm in marks:
            if dm.action == action:
                xs.append(dm.step)
                ys.append(_v(h, h.scores(dm.trial_id)[dm.step]))
        if xs:
            ax.scatter(xs, ys, marker=marker, color=color, s=28, zorder=3, gid=action,
                       label=f"{'stopped' if action == 'stop' else 'paused'} here")
    if not seen:
        _nothing_yet(ax)
    if d.max_step >= 9:
        ax.set_xscale("log")
    else:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps
    ax.set_xlabel("step")
    ax.set_ylabel(d.label())
    ax.set_title(f"{d.name}: learning curves by outcome"
                 + ("" if not cut else ", with rung cut-offs" if d.rungs
                    else ", with its thresholds"))
    if seen:
        # beside the axes: inside, it covered curves, and finding the "best" place among
        # thousands of them took 5 of the 6 seconds a 2,500-trial figure took to save
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return finite_axes(fig)


def _draw_curves(ax: Axes, curves: dict[str, list[list[tuple[float, float]]]]) -> None:
    """The trials' curves, one artist per outcome, a one-result trial as a point."""
    from matplotlib.collections import LineCollection

    for status, segments in curves.items():
        # one artist per outcome, not per trial: 20,000 Line2D took half a minute to draw
        ax.add_collection(LineCollection(
            segments, linewidths=0.9, alpha=0.75, colors=STATUS_COLORS.get(status, "#777777"),
            gid=f"trials-{status}", label=status,
            # the trials that ran to the end over the many stopped early, drawn later
            zorder=2.2 if status == "completed" else 2.0))
        # a trial with one result is a point, which a line does not show (a study with
        # max_step 1, trials stopped at the first rung)
        single = [seg[0] for seg in segments if len(seg) == 1]
        if single:
            ax.scatter([p[0] for p in single], [p[1] for p in single], s=6,
                       color=STATUS_COLORS.get(status, "#777777"), alpha=0.75,
                       gid=f"points-{status}", zorder=2.2 if status == "completed" else 2.0)
    if curves:
        ax.autoscale_view()


def _v(h: History, score: float) -> float:
    return h.objective.value(score) if math.isfinite(score) else math.nan


def rung_occupancy(study: Study) -> Figure:
    """How many trials have reached each rung's step, over time (for a scheduler without
    rungs, each step of ``rung.analysis``'s ladder ``1, 3, 9, ...``)."""
    d = _data(study)
    occ = occupancy(d.fold, d.steps)
    t0 = d.fold.start or 0.0
    fig = _figure()
    ax = fig.add_subplot()
    drawn = False
    for s, pts in occ.items():
        if not pts:
            continue
        drawn = True
        ax.step([0.0] + [t - t0 for t, _ in pts], [0] + [n for _, n in pts], where="post",
                gid=f"rung-{s}", label=f"step {s}")
    ax.set_xlabel("time since the study started (s)")
    ax.set_ylabel("trials that reached the step")
    ax.set_title(f"{d.name}: rung occupancy over time")
    if drawn:
        ax.legend(loc="best", fontsize="small", title="rung" if d.rungs else "step")
    else:
        _nothing_yet(ax)
    return fig


#: worker slots the timeline gives a row's height each; past it the slots share the height
MAX_ROWS = 40


def worker_timeline(study: Study) -> Figure:
    """A Gantt chart: each worker slot's runs (coloured by how they ended) and its idle gaps,
    the legend beside the chart. Slots are reconstructed from the journal
    (``rung.analysis_frames``); past ``MAX_ROWS`` slots the figure stops growing and the slot
    axis is labelled at intervals."""
    d = _data(study)
    jf = d.fold
    t0 = jf.start or 0.0
    end = jf.now
    by_slot: dict[int, list[tuple[float, float, str]]] = defaultdict(list)
    for r in jf.runs:
        stop = r.end if r.end is not None else end
        by_slot[r.slot].append((r.start - t0, max(stop - r.start, 0.0), r.outcome or "running"))
    n = max(jf.n_slots, 1)
    # a row per slot up to ``MAX_ROWS`` rows' height; more slots share it (256 slots at a
    # row each would make a figure 91 inches tall)
    fig = _figure(9, max(2.5, 0.35 * min(n, MAX_ROWS) + 1.5))
    ax = fig.add_subplot()
    busy = 0.0
    for slot in sorted(by_slot):
        bars = by_slot[slot]
        busy += sum(w for _, w, _ in bars)
        ax.broken_barh([(x, w) for x, w, _ in bars], (slot - 0.4, 0.8),
                       facecolors=[STATUS_COLORS.get(o, "#777777") for _, _, o in bars],
                       edgecolor="white", linewidth=0.3, gid=f"slot-{slot}")
    span = max(end - t0, 1e-12)
    util = busy / (span * n) if jf.runs else 0.0
    if n <= MAX_ROWS:
        ax.set_yticks(range(n))
    else:
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(nbins=20, integer=True))
    ax.set_ylim(-0.6, n - 0.4)
    ax.invert_yaxis()
    ax.set_xlabel("time since the study started (s)")
    ax.set_ylabel("worker slot")
    ax.set_title(f"{d.name}: worker timeline ({len(jf.runs)} runs on {jf.n_slots} slots, "
                 f"{util:.0%} busy)")
    from matplotlib.patches import Patch

    used = sorted({o for bars in by_slot.values() for _, _, o in bars})
    if used:
        # beside the slots, not over them: every slot's runs start at the left and the
        # busiest end at the right
        ax.legend(handles=[Patch(color=STATUS_COLORS.get(o, "#777777"), label=o) for o in used],
                  loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small",
                  title="run ended")
    else:
        _nothing_yet(ax, "no runs yet")
    return fig


#: ``rung plot --kind`` names -> figure functions
KINDS: dict[str, Callable[[Study], Figure]] = {
    "history": optimization_history,
    "curves": learning_curves,
    "occupancy": rung_occupancy,
    "workers": worker_timeline,
    "parallel": parallel_coordinates,
    "importance": param_importance,
    "pareto": pareto_front,
    "slices": intermediate_slices,
}


def plot(study: Study, kind: str) -> Figure:
    """The figure ``kind`` (one of ``KINDS``) of ``study``."""
    try:
        f = KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown plot kind {kind!r}: one of {', '.join(KINDS)}") from None
    return f(study)


def save(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` to ``path``: ``.png``, ``.svg`` or ``.pdf`` as matplotlib writes them;
    ``.html`` as a self-contained HTML5 page in UTF-8, titled as the figure is (its
    ``suptitle``, else its first axes' title), with the figure as inline SVG (no scripts, no
    XML declaration or SVG doctype inside the page's body).

    Text in a script the figure's font has no glyphs for (a CJK study or parameter name in
    DejaVu Sans) is drawn again with the fonts of ``FALLBACK_FAMILIES`` that are installed as
    a fallback (matplotlib draws each character in the first font that has it; ``fig``'s
    texts keep that fallback, so the next ``save`` draws them once); characters
    no installed font has are told in one ``UserWarning`` (which script, how to get a font),
    instead of matplotlib's warning per character.

    Raises:
        ValueError: another suffix.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".png", ".svg", ".pdf", ".html"):
        raise ValueError(f"{p}: write a .png, .svg, .pdf or .html file")

    def write() -> None:
        if suffix == ".html":
            p.write_text(html_page(fig), encoding="utf-8")
        else:
            fig.savefig(p, dpi=120 if suffix == ".png" else "figure")

    missing = _missing_glyphs(write)
    if missing:
        fallback = _fallback_families()
        if fallback:
            import matplotlib as mpl
            from matplotlib.text import Text

            for t in fig.findobj(Text):  # each text keeps the families it was made with
                t.set_fontfamily(_with_fallback(t.get_fontfamily(), fallback))
            # tick labels made while drawing take the rc families
            family = _with_fallback(list(mpl.rcParams["font.family"]), fallback)
            with mpl.rc_context({"font.family": family}):
                missing = _missing_glyphs(write)
    if missing:
        warnings.warn(missing_glyphs_message(missing), UserWarning, stacklevel=2)
    return p


#: fonts with CJK glyphs, in the order a fallback prefers them, by the family names
#: matplotlib knows them by (Debian's fonts-noto-cjk, fonts-wqy-*, fonts-ipafont-*, ...;
#: macOS's and Windows'); any other installed family with "CJK" in its name comes after
FALLBACK_FAMILIES = (
    "Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK KR",
    "Noto Sans CJK HK", "Source Han Sans", "Source Han Sans SC", "Source Han Sans JP",
    "Noto Sans SC", "Noto Sans JP", "Noto Sans KR", "Noto Sans TC", "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei", "Droid Sans Fallback", "IPAexGothic", "IPAGothic", "TakaoGothic",
    "VL Gothic", "NanumGothic", "UnDotum", "AR PL UMing CN", "AR PL UKai CN",
    "Hiragino Sans", "Hiragino Sans GB", "PingFang SC", "Apple SD Gothic Neo",
    "Microsoft YaHei", "SimHei", "Yu Gothic", "MS Gothic", "Malgun Gothic", "Unifont",
)

_GLYPH = re.compile(r"Glyph (\d+) .*missing from font\(s\) (.+?)\.?$", re.DOTALL)


def _missing_glyphs(draw: Callable[[], None]) -> dict[str, str]:
    """Run ``draw`` with matplotlib's missing-glyph warnings caught: the characters they
    name (in the order met), each with the fonts that lacked it; other warnings pass on."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw()
    missing: dict[str, str] = {}
    for w in caught:
        m = _GLYPH.match(str(w.message))
        if m is not None:
            missing.setdefault(chr(int(m.group(1))), m.group(2))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    return missing


#: file names of CJK fonts (matplotlib's font list is built once, so a font installed since
#: is in the system's fonts but not in it)
_CJK_FILE = re.compile(r"cjk|wqy|wenquanyi|droidsansfallback|sourcehan|ipag|ipaex|takao|"
                       r"nanum|ukai|uming|unifont|vl-gothic|notosans(sc|tc|jp|kr)", re.I)


def _fallback_families() -> list[str]:
    """The installed families of ``FALLBACK_FAMILIES`` (at most three), in its order; a CJK
    font installed since matplotlib listed the fonts it knows is added to them first."""
    from matplotlib import font_manager

    fm = font_manager.fontManager
    known_files = {f.fname for f in fm.ttflist}
    try:
        system = font_manager.findSystemFonts()
    except Exception:  # no font list: the fonts matplotlib knows
        system = []
    for path in system:
        if path not in known_files and _CJK_FILE.search(Path(path).name):
            try:
                fm.addfont(path)
            except Exception:  # a font file it cannot read: not a fallback
                continue
    installed = {f.name for f in fm.ttflist}
    known = [f for f in FALLBACK_FAMILIES if f in installed]
    known += sorted(f for f in installed if "CJK" in f and f not in known)
    return known[:3]


def _with_fallback(families: list[str], fallback: list[str]) -> list[str]:
    return [*families, *(f for f in fallback if f not in families)]


def missing_glyphs_message(missing: dict[str, str]) -> str:
    """One line: which characters (``missing``: character -> the fonts that lack it) are
    drawn as boxes, their script, and how to get a font that has them."""
    import unicodedata

    chars = list(missing)
    shown = "".join(chars[:12]) + ("..." if len(chars) > 12 else "")
    scripts = list(dict.fromkeys(_script(unicodedata.name(c, "")) for c in chars))
    fonts = ", ".join(dict.fromkeys(missing.values()))
    cjk = "CJK" in scripts
    get = ("install a CJK font (Debian/Ubuntu: apt install fonts-noto-cjk)" if cjk else
           "install a font that has them (Debian/Ubuntu: apt install fonts-noto)")
    return (f"no glyphs in the font(s) {fonts} for {len(chars)} {'/'.join(scripts)} "
            f"character(s) ({shown}), drawn as boxes: {get}, or set matplotlib's "
            "font.family (rcParams) to a font that has them")


#: first words of Unicode character names that are the CJK scripts
_CJK_WORDS = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO", "IDEOGRAPHIC", "KANGXI",
              "HALFWIDTH", "FULLWIDTH", "YI")


def _script(name: str) -> str:
    """The script a character's Unicode name says (``CJK UNIFIED IDEOGRAPH-6A21``: CJK)."""
    word = name.split(" ", 1)[0] if name else "unnamed"
    return "CJK" if word in _CJK_WORDS else word.title()


def html_page(fig: Figure) -> str:
    """``fig`` as the text of a self-contained HTML5 page (see ``save``)."""
    import html
    import io

    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    svg = svg[svg.find("<svg"):]  # an XML declaration and a DOCTYPE belong to .svg files only
    title = fig.get_suptitle()
    if not title and fig.axes:
        title = fig.axes[0].get_title()
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title or 'rung')}</title>\n</head>\n<body>\n{svg.strip()}\n"
            "</body>\n</html>\n")


__all__ = [
    "KINDS", "MAX_ROWS", "STATUS_COLORS", "html_page", "intermediate_slices", "learning_curves",
    "optimization_history", "parallel_coordinates", "param_importance", "pareto_front", "plot",
    "rung_occupancy", "save", "worker_timeline",
]
