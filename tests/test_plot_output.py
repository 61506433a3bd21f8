"""rung.plot: ``.html`` is a valid HTML5 page (the SVG's XML declaration and doctype are not
in its body), titled as the figure; a trial with a single result shows as a point; the
importance figure says why it has no bars."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import rung
from rung.cli.main import main

pytest.importorskip("matplotlib")
from rung import plot as P


class _Tags(HTMLParser):
    """Start tags with their depth, declarations and processing instructions, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.seen: list[tuple[str, tuple[str, ...]]] = []
        self.decls: list[str] = []
        self.pis: list[str] = []
        self.title = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, tuple(self.stack)))
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "title" and "svg" not in self.stack:
            self.title += data

    def handle_decl(self, decl: str) -> None:
        self.decls.append(decl)

    def handle_pi(self, data: str) -> None:
        self.pis.append(data)


def _study(name: str = "ünï", n: int = 12, max_step: int = 9) -> rung.Study:
    s = rung.Study.create(name, {"x": rung.Float(1e-3, 1.0, log=True),
                                 "c": rung.Categorical(["a", "b"])},
                          objective="loss", searcher="random", scheduler="asha",
                          max_step=max_step, budget=rung.Budget(n_trials=n), seed=0)
    while (t := s.ask()) is not None:
        for step in range(1, max_step + 1):
            d = s.report(t.id, step, {"loss": t.params["x"] / step})
            if d.action.value != "continue":
                break
        else:
            s.tell(t.id, "completed")
    return s


@pytest.mark.parametrize(("kind", "title"), [
    ("curves", "ünï: learning curves by outcome, with rung cut-offs"),
    ("slices", "ünï: intermediate-value slices"),  # a figure title over several axes
])
def test_html_is_a_valid_page_with_the_svg_in_its_body(
    tmp_path: Path, kind: str, title: str
) -> None:
    out = P.save(P.plot(_study(), kind), tmp_path / "f.html")
    raw = out.read_bytes()
    text = raw.decode("utf-8")  # as its meta says
    assert text.startswith("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">")
    assert "<?xml" not in text and "<!DOCTYPE svg" not in text
    tags = _Tags()
    tags.feed(text)
    assert tags.decls == ["DOCTYPE html"] and tags.pis == []
    assert tags.title == title
    top = [(t, parents) for t, parents in tags.seen if t in ("html", "head", "body", "svg")]
    assert top == [("html", ()), ("head", ("html",)), ("body", ("html",)),
                   ("svg", ("html", "body"))]
    body = text[text.index("<body>") + len("<body>"):text.rindex("</body>")]
    svg = ET.fromstring(body.strip())  # the SVG is well-formed XML on its own
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"


def test_cli_plot_writes_the_same_page(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    src = rung.Study.create("s", {"x": rung.Float(0, 1)}, objective="loss", searcher="random",
                            scheduler="fifo", max_step=1, budget=rung.Budget(n_trials=6),
                            seed=0, storage=db)
    while (t := src.ask()) is not None:
        src.tell(t.id, "completed", {"loss": t.params["x"]})
    src.close()
    out = tmp_path / "h.html"
    assert main(["plot", "s", "--storage", str(db), "--kind", "history", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<?xml" not in text
    assert "<title>s: optimization history</title>" in text


def test_a_single_result_is_a_point_on_the_learning_curves() -> None:
    s = _study("one-step", n=5, max_step=1)
    ax = P.learning_curves(s).axes[0]
    (points,) = [c for c in ax.collections if c.get_gid() == "points-completed"]
    assert sorted(map(tuple, np.asarray(points.get_offsets()).tolist())) == sorted(
        (1.0, t.params["x"]) for t in s.trials())


def test_importance_says_why_it_has_no_bars() -> None:
    one = _study("one", n=1)
    assert [t.get_text() for t in P.param_importance(one).axes[0].texts] == [
        "one trial: nothing to compare yet"]
    flat = rung.Study.create("flat", {"x": rung.Float(0, 1)}, objective="loss",
                             searcher="random", scheduler="fifo", max_step=1,
                             budget=rung.Budget(n_trials=6), seed=0)
    while (t := flat.ask()) is not None:
        flat.tell(t.id, "completed", {"loss": 1.0})
    ax = P.param_importance(flat).axes[0]
    assert [t.get_text() for t in ax.texts] == [
        "the score is the same for every trial: nothing to explain"]
    assert ax.get_title() == "flat: parameter importance at step 1 (6 trials)"
    # two trials whose scores differ: too few, not "the same score" (as it said)
    two = rung.Study.create("two", {"x": rung.Float(0, 1)}, objective="loss",
                            searcher="random", scheduler="fifo", max_step=1,
                            budget=rung.Budget(n_trials=2), seed=0)
    while (t := two.ask()) is not None:
        two.tell(t.id, "completed", {"loss": t.params["x"]})
    assert [t.get_text() for t in P.param_importance(two).axes[0].texts] == [
        "2 trials: too few to compare (3 are needed)"]


def test_rung_plot_offers_every_kind_rung_plot_draws() -> None:
    from rung.cli.plot import KIND_NAMES

    assert tuple(P.KINDS) == KIND_NAMES


def test_rung_plot_replaces_a_file_only_once_the_new_one_is_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "j.db"
    src = rung.Study.create("s", {"x": rung.Float(0, 1)}, objective="loss", searcher="random",
                            scheduler="fifo", max_step=1, budget=rung.Budget(n_trials=3),
                            seed=0, storage=db)
    while (t := src.ask()) is not None:
        src.tell(t.id, "completed", {"loss": t.params["x"]})
    src.close()
    out = tmp_path / "h.svg"
    out.write_text("the old figure")

    def half_then_fail(fig: object, path: Path) -> Path:
        Path(path).write_text("<svg")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(P, "save", half_then_fail)
    assert main(["plot", "s", "--storage", str(db), "--kind", "history", "-o", str(out)]) == 2
    assert capsys.readouterr().err == f"rung: error: -o {out}: No space left on device\n"
    assert out.read_text() == "the old figure"
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".svg"] == ["h.svg"]
    monkeypatch.undo()
    assert main(["plot", "s", "--storage", str(db), "--kind", "history", "-o", str(out)]) == 0
    assert out.read_text().startswith("<?xml") and "<svg" in out.read_text()
