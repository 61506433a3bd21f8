"""The code of the guides, the docs' index and the README runs as written, and the command
output they show is what the commands print.

Each Python block of ``docs/*.md`` (but the migration guides and the integrations page, which
``tests/integrations/test_migration_guides.py`` runs) and of ``README.md`` is run here, as the
page shows it, after a prelude that defines the names the page leaves to the reader (``space``,
``train``, ``build``, ``fit_one_epoch``, ``score``): blocks that start worker processes run as
a script in a subprocess (the workers import it), the others in this process. Every other
block of these pages that shows a command's output is run too where that is cheap (a simulated
study), and its stable parts checked; ``NOT_CHECKED`` says why the others are not. A block added
to a page fails ``test_every_block_is_covered`` until a test here runs it. The dashboard page's
tests are ``test_docs_blocks_dashboard.py``, the define-by-run page's ``test_docs_blocks_dbr.py``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import rung
from _docs_output import SPACE, _cli, _flat, _same_line, _same_lines
from doc_blocks import MIGRATION_PAGES, ROOT, blocks, fences, in_main, pages, run_script

#: the pages whose every block (of any language) is run, checked or listed in NOT_CHECKED
GUIDES = ("cost", "dashboard", "define-by-run", "index", "ray", "versions")

#: Python blocks run by the tests below, by (page, index among the page's Python blocks)
RUN = {
    ("README", 0), ("index", 0), ("versions", 0), ("ray", 0), ("dashboard", 0),
    ("cost", 0), ("cost", 1),
    ("define-by-run", 0), ("define-by-run", 1), ("define-by-run", 2), ("define-by-run", 3),
    ("define-by-run", 4), ("define-by-run", 5),
}

#: other blocks of GUIDES whose commands or output the tests below check, by (page, index
#: among all the page's fenced blocks)
CHECKED = {
    ("cost", 1): "the worked example's ledger: test_cost_worked_example",
    ("cost", 2): "the pilot and `rung plan`: test_cost_plan_blocks",
    ("dashboard", 0): "the three `rung dashboard` commands: test_dashboard_serves",
    ("dashboard", 1): "the address it prints: test_dashboard_serves",
    ("dashboard", 2): "the mistakes: test_dashboard_mistakes",
    ("dashboard", 3): "`rung plot`: test_dashboard_plot_blocks",
    ("define-by-run", 2): "a parameter's log scale changed: test_define_by_run_messages",
    ("define-by-run", 4): "a bool returned: test_define_by_run_messages",
    ("ray", 3): "the spec's executor_options are accepted, and the mistakes the text quotes "
                "refused: test_ray_spec_options",
    ("ray", 4): "`rung show`'s session table (its header and a row's shape): "
                "test_ray_block_and_show",
    ("versions", 0): "`written_by`: test_versions_written_by",
}

#: blocks of GUIDES that no test here runs, and why
NOT_CHECKED = {
    ("dashboard", 0): "`pip install` (the line of the block no test runs; the environment has "
                      "the extra)",
    ("ray", 1): "`pip install 'rung[ray]'`: installs packages",
    ("ray", 2): "`ray start`: starts cluster nodes, machine-wide processes a test must not leave",
    ("ray", 3): "running the spec: it needs a cluster (`address: auto`) with GPUs",
    ("ray", 4): "the first line, `executor ray  (n_workers=8 address=auto)`, is a spec's "
                "(`rung run` on a Ray cluster); the session rows are checked",
}


#: the README's placeholders: a model built from the params, whose loss falls with the epochs
#: and depends on lr, width and momentum, saved and loaded as its epoch count
README_PRELUDE = '''\
import math
import os


class _Model:
    def __init__(self, params):
        self.params, self.epoch = params, 0

    def save(self, directory):
        with open(os.path.join(directory, "model.txt"), "w") as f:
            f.write(str(self.epoch))

    def load(self, directory):
        with open(os.path.join(directory, "model.txt")) as f:
            self.epoch = int(f.read())


def build(params):
    return _Model(params)


def fit_one_epoch(model):
    model.epoch += 1
    p = model.params
    return ((math.log10(p["lr"]) + 3) ** 2 / model.epoch + 1 / p["width"]
            + p.get("momentum", 0.0) / 10)
'''

def test_same_line() -> None:
    """The comparison the output checks use: words exact, numbers close."""
    shown = "8        1.79s [0.969s-3.76s]  0.0001592 [8.611e-05-0.0003341]  89%  300"
    assert _same_line(shown, shown)
    assert _same_line("8   1.791s [0.969s-3.76s]  0.0001593 [8.611e-05-0.0003341]  89%  300",
                      shown)
    assert not _same_line(shown.replace("1.79s", "1.95s"), shown)
    assert not _same_line(shown.replace("300", "301 trials"), shown)
    assert not _same_line(shown.replace("s [", "m ["), shown)


def test_every_block_is_covered() -> None:
    found = {(page, i) for page in pages() if page not in MIGRATION_PAGES
             for i in range(len(blocks(page)))}
    assert found == RUN, "a Python block was added or removed: run it here"
    other = {(page, i) for page in GUIDES for i, (lang, _) in enumerate(fences(page))
             if lang != "python"}
    assert other == set(CHECKED) | set(NOT_CHECKED), \
        "a block was added or removed: check it here, or say in NOT_CHECKED why not"
    assert all(fences(page)[i][0] != "python" for page, i in CHECKED)


# --- README and the index ------------------------------------------------------------------------
@pytest.mark.slow
def test_readme_block(tmp_path: Path) -> None:
    block = blocks("README")[0]
    out = run_script(tmp_path, "mlp.py", README_PRELUDE + block).strip().splitlines()
    study = rung.Study.load("mlp", storage=str(tmp_path / "runs" / "mlp.db"))
    trials = study.trials()
    assert len(trials) == 200 and study.spec.searcher.name == "tpe"
    assert (study.spec.scheduler.name, study.engine.scheduler.get_params()["reduction_factor"],
            study.spec.max_step, study.spec.seed) == ("asha", 3, 27, 0)
    best = study.best_trial
    assert best is not None and best.value == min(t.value for t in trials if t.value is not None)
    # "value: val_loss as reported"; no trial failed, so the list of failures is empty
    assert best.value == best.results[-1].metrics["val_loss"]
    assert out[-2:] == [f"{best.params} {best.value}", "[]"]
    assert {t.status.value for t in trials} == {"completed", "stopped"}


@pytest.mark.slow
def test_index_block(tmp_path: Path) -> None:
    block = blocks("index")[0]
    assert block.rstrip().endswith("print(study.best_trial.params)")
    epilogue = in_main("""
        best = study.best_trial
        print(len(study.trials()), study.spec.max_step, study.spec.objective.metric,
              best.value == min(t.value for t in study.trials() if t.value is not None))
    """)
    out = run_script(tmp_path, "index.py", block + epilogue).strip().splitlines()
    params, summary = out[-2:]
    assert summary == "50 27 loss True"
    assert re.fullmatch(r"\{'lr': [0-9.e-]+\}", params)
    assert 1e-4 <= float(params[8:-1]) <= 1e-1


# --- versions ------------------------------------------------------------------------------------
def test_versions_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """The block registers its class (the registry entry is restored after the test), and a
    journal written by version 1 gets the note the page quotes."""
    import rung.schedulers.asha  # the built-in ASHA is registered: its entry is restored
    from rung.core import registry
    from rung.core.versions import RUNG_VERSION, Versions, explain
    from rung.searchers.random import RandomSearcher

    monkeypatch.setitem(registry._REGISTRY["scheduler"], "asha", rung.schedulers.asha.ASHA)
    ns: dict[str, Any] = {}
    exec(blocks("versions")[0], ns)
    cls = ns["ASHA"]
    assert registry._REGISTRY["scheduler"]["asha"] is cls and cls.name == "asha"
    assert cls.version == 2
    note = explain(Versions(RUNG_VERSION, RandomSearcher.version, 1), RandomSearcher, cls)
    quoted = ("scheduler ASHA algorithm version 1 -> 2 (v2: stopping variant: tied results at "
              "a rung fill the max(1, floor(n/eta)) quota (before: only the first of them "
              "continued))")
    assert note == f"journal was written by rung {RUNG_VERSION}; this is rung {RUNG_VERSION}: " \
                   + quoted
    assert quoted in _flat("versions")


def test_versions_written_by() -> None:
    """``written_by`` holds the release and the searcher's and scheduler's versions."""
    from rung.schedulers.asha import ASHA
    from rung.searchers.random import RandomSearcher

    block = fences("versions")[0][1]
    assert block.strip().startswith('"written_by": {"rung": "0.1.0", "searcher": ')
    study = rung.Study.create("v", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                              scheduler="asha")
    written = study.spec.to_json()["written_by"]
    assert written == {"rung": rung.__version__, "searcher": RandomSearcher.version,
                       "scheduler": ASHA.version}
    assert rung.__version__ == "0.1.0"
    # a study with a stop rule records the rule's version; the note for an older one
    ruled = rung.Study.create("s", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                              scheduler="asha", budget=rung.Budget(n_trials=10, stop="auto"))
    assert ruled.spec.to_json()["written_by"]["stop_rule"] == rung.StopRule.version
    from rung.core.versions import Versions, explain

    note = explain(Versions(rung.__version__, RandomSearcher.version, ASHA.version, 1),
                   RandomSearcher, ASHA, rung.StopRule)
    assert note is not None
    shown = re.search(r"`(stop rule StopRule algorithm version 1 -> \d+ \(v2: )\.\.\.\)`",
                      _flat("versions"))
    assert shown is not None and shown.group(1) in note


# --- Ray -----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_ray_block_and_show(tmp_path: Path) -> None:
    """The block on a private local Ray instance (no cluster runs here), 500 trials; then
    `rung show` lists its driver session as the page shows one."""
    pytest.importorskip("ray")
    prelude = textwrap.dedent("""\
        import rung

        space = {"lr": rung.Float(1e-4, 1e-1, log=True)}


        def train(ctx):
            for step in range(ctx.start_step, ctx.max_step + 1):
                ctx.report(step, val_loss=(ctx.params["lr"] - 0.01) ** 2 + 1.0 / step)


    """)
    block = blocks("ray")[0]
    epilogue = textwrap.dedent("""
        print(len(study.trials()), sorted({t.status.value for t in study.trials()}))
        alternative = rung.RayExecutor(address="auto",
                                       resources_per_trial={"cpu": 2, "gpu": 0.5})
        print(type(alternative).__name__)
    """)
    # the alternative in the block's comment: the executor it builds (connecting needs a cluster)
    assert "# study.run(train, executor=rung.RayExecutor(address=\"auto\"," in block
    out = run_script(tmp_path, "ray_block.py", prelude + block + epilogue, timeout=900,
                     env={"HOME": str(tmp_path)}).strip().splitlines()
    assert out[-2:] == ["500 ['completed', 'stopped']", "RayExecutor"]
    shown = _cli("show", "mlp", "--storage", "runs/mlp.db", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    page = fences("ray")[4][1].splitlines()
    head = next(i for i, line in enumerate(lines) if line.strip().startswith("session"))
    assert lines[head].split() == page[1].split()
    assert lines[head - 1] == ("executor as each session ran it (the study was not created by `rung run`: "
        "no spec's executor settings on record)")
    row = lines[head + 1]
    assert re.fullmatch(r"  1 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +ray \(cluster=[\d.]+:\d+ "
                        r"transport=socket\) +\d+ +cpu=1 +500", row), row
    assert re.fullmatch(r"  1 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +ray \(address=auto "
                        r"cluster=[\d.]+:\d+ transport=socket\) +8 +cpu=2 gpu=0.5 +41", page[2])
    # the columns line up under the header, as on the page
    for text in (lines[head:head + 2], page[1:3]):
        assert text[1].index("ray (") == text[0].index("executor")


@pytest.mark.slow
def test_ray_spec_options(tmp_path: Path) -> None:
    """The spec block, completed with an objective, a space and a budget, with one of the
    mistakes the text quotes: one line naming it, exit code 2, nothing written. (The block as
    written is not run: it would join a cluster this machine may belong to.)"""
    pytest.importorskip("ray")
    (tmp_path / "obj.py").write_text("def train(ctx):\n    ctx.report(1, loss=1.0)\n")
    head = ("name: r\nobjective: obj:train\nspace: {x: {type: float, low: 0, high: 1}}\n"
            "metric: loss\nbudget: {n_trials: 2}\n")
    block = fences("ray")[3][1]
    text = _flat("ray")
    for old, new, error in (
        ("transport: socket", "transport: grpc", "spec.executor_options.transport: must be "
         "one of ('auto', 'socket', 'ray'), got 'grpc'"),
        ("address: auto", "adress: auto", "spec.executor_options.adress: not an option of the "
         "ray executor (did you mean 'address'?) "),
    ):
        assert old in block
        (tmp_path / "spec.yaml").write_text(head + block.replace(old, new))
        r = _cli("run", "spec.yaml", "--no-live", cwd=tmp_path, timeout=120)
        assert (r.returncode, r.stdout) == (2, "")
        assert r.stderr.startswith("rung: error: " + error) and r.stderr.count("\n") == 1
        assert f"`{error}" in text
        assert not (tmp_path / "runs").exists()


# --- cost ----------------------------------------------------------------------------------------
def test_cost_prices_block() -> None:
    ns: dict[str, Any] = {"rung": rung, "space": SPACE}
    exec(blocks("cost")[0], ns)
    spec = ns["study"].spec
    assert (spec.searcher.name, spec.scheduler.name, spec.max_step) == ("tpe", "asha", 81)
    assert spec.budget.max_cost == 40.0
    assert spec.prices == {"cpu": 0.04, "gpu": 2.0, "gpu:A100": 3.2}
    assert spec.resources_per_trial == {"cpu": 4.0, "gpu:A100": 1.0}
    # the bullets under it
    assert rung.Prices({"GPU:a100": 3.2, "CPU": 0.04}).table == {"gpu:A100": 3.2, "cpu": 0.04}
    with pytest.raises(rung.ConfigError) as err:
        rung.Prices({"gpu:a100": 1, "gpu:A100": 2})
    assert str(err.value) == "prices.gpu:A100: device 'gpu:A100' given twice"
    assert "`prices.gpu:A100: device 'gpu:A100' given twice`" in _flat("cost")


@pytest.mark.slow
def test_cost_worked_example(tmp_path: Path) -> None:
    """The ledger excerpt is what ``examples/cost_worked_example.py`` prints (its lines, in
    order), and the numbers the text reads off its output are the example's."""
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "cost_worked_example.py")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout.splitlines()
    shown = [line for line in fences("cost")[1][1].splitlines() if line.strip()]
    at = [next((i for i, line in enumerate(out) if _same_line(line, want)), -1)
          for want in shown]
    assert -1 not in at and at == sorted(at), "\n".join(out)
    text = _flat("cost")
    for printed, claims in (
        ("cost per trial so far: $0.07; another 100 trials: about $7.22",
         ["$7.22 for the first 100", "against the $0.07 a trial costs"]),
        ("the rule models step 3 (38 results there)",
         ["models step 3, the highest rung with 20 results or more (38)"]),
        ("best val_error there 0.4619; regret bound 0.0258 (the most the search can still "
         "gain, with high probability); expected improvement of one more trial 0.00604; noise "
         "0.0122", ["regret bound 0.0258 there against a statistical error of 0.0122",
                    "best rate, 0.4619,", "one more trial is 0.0060,"]),
        ("at $2000 per unit of val_error: one more trial is expected to be worth $12.09 "
         "against $0.07 it costs; the whole remaining gain is worth at most $51.53",
         ["worth $12.09", "worth at most $51.53", "`assess(study, value=2000)`"]),
        ("what the next 100 trials did: cost $9.18, best val_error 0.3581 -> 0.3581 "
         "(gain 0.0000, worth $0.00)",
         ["the next 100 cost $9.18 and found nothing better (best validation error 0.3581 "
          "before and after)", "(Measured below: $9.18."]),
    ):
        assert printed in out
        for claim in claims:
            assert claim in text, claim
    # the binomial error of 0.4619 on 1,667 examples (the size the text names) is the noise
    assert round((0.4619 * (1 - 0.4619) / 1667) ** 0.5, 4) == 0.0122
    assert "0.4619, on the 1,667 validation examples" in text


@pytest.fixture(scope="module")
def magic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory whose ``runs/magic.db`` holds the pilot the page describes, run by the
    console block's first command."""
    where = tmp_path_factory.mktemp("magic")
    pilot = ("`name: magic`, `executor: simulated`, `benchmark: {name: curve-table, params: "
             "{path: benchmarks/curves/hgb-magic.npz, metric: val_error}}`, `searcher: tpe`, "
             "`scheduler: asha`, `budget: {n_trials: 30}`, `n_workers: 4`, `seed: 0`")
    assert pilot in _flat("cost")
    spec = "\n".join(part.strip("`") for part in pilot.split("`, `")).replace(
        "benchmarks/curves", str(ROOT / "benchmarks" / "curves"))
    (where / "spec.yaml").write_text(spec + "\n")
    assert fences("cost")[2][1].startswith("$ rung run spec.yaml ")
    run = _cli("run", "spec.yaml", "--no-live", cwd=where)
    assert run.returncode == 0, run.stderr
    return where


@pytest.mark.slow
def test_cost_plan_blocks(magic: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Python block's plan of the pilot, which asks what the console block's `rung plan`
    asks, printed as `rung plan` prints it, is the console block's output (the simulated clock
    makes it exact). About 2 minutes: 60 simulated studies of 300 trials."""
    from rung.cli.plan import plan_text

    lines = fences("cost")[2][1].splitlines()
    assert lines[1] == "$ rung plan magic --trials 300 --prices cpu=0.04 --workers 1,8,64"
    block = blocks("cost")[1]
    assert ('workers=[1, 8, 64], seeds=20,\n                 prices={"cpu": 0.04}, '
            'budget=rung.Budget(n_trials=300))') in block  # what the command line asks

    monkeypatch.chdir(magic)
    ns: dict[str, Any] = {"rung": rung}
    exec(block, ns)
    plan = ns["plan"]
    assert _same_lines(plan_text(plan).splitlines(), lines[2:]), plan_text(plan)
    one, eight, many = plan.rows
    assert (one.workers, eight.workers, many.workers) == (1, 8, 64)
    # "Read it as": about 18 s on one worker, about 2 s on 8 at 89% for about the same money,
    # under a second less on 64, idle four fifths of the time, at 4 times one worker's cost
    assert round(one.wall_clock) == 18 and round(eight.wall_clock) == 2
    assert round(eight.utilization, 2) == 0.89 and 0.7 < eight.cost / one.cost < 1.0
    assert 0 < eight.wall_clock - many.wall_clock < 1
    assert round(many.utilization, 1) == 0.2 and round(many.cost / one.cost) == 4
    # "The last line": one trial run takes 56% and 99% of the 8- and 64-worker rows' wall-clock
    assert (round(eight.longest_share, 2), round(many.longest_share, 2)) == (0.56, 0.99)
    assert one.longest_share < 0.5
    assert list(plan.to_frame()["workers"]) == [1, 8, 64]
    assert [r["workers"] for r in plan.to_json()["rows"]] == [1, 8, 64]


@pytest.mark.slow
def test_cost_plan_refusals(magic: Path) -> None:
    """The mistakes the page quotes: one line naming the option, exit code 2."""
    text = _flat("cost")
    for args, quoted in (
        (["--prices", "tpu=1"], "--prices: prices.tpu: unknown device "),
        (["--trials", "3334"], "--trials: 3,334 trials x 20 seed(s) x 3 worker count(s) is "
                               "200,040 simulated trials, past the limit of 200,000 per plan: "),
    ):
        assert f"`{quoted}...`" in text
        r = _cli("plan", "magic", *args, cwd=magic)
        assert (r.returncode, r.stdout) == (2, "")
        assert r.stderr.startswith(f"rung: error: {quoted}") and r.stderr.count("\n") == 1
    r = _cli("plan", "magic", "--workers", "1,8,8", cwd=magic)
    assert (r.returncode, r.stderr) == (2, "rung: error: --workers: 8 given twice in '1,8,8'\n")
    assert "Repeated worker counts are refused too." in text
