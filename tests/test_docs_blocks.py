"""The code of the guides, the docs' index and the README runs as written, and the command
output they show is what the commands print.

Each Python block of ``docs/*.md`` (but the migration guides and the integrations page, which
``tests/integrations/test_migration_guides.py`` runs) and of ``README.md`` is run here, as the
page shows it, after a prelude that defines the names the page leaves to the reader (``space``,
``train``, ``build``, ``fit_one_epoch``, ``score``): blocks that start worker processes run as
a script in a subprocess (the workers import it), the others in this process. Every other
block of these pages that shows a command's output is run too where that is cheap (a simulated
study), and its stable parts checked; ``NOT_CHECKED`` says why the others are not. A block added
to a page fails ``test_every_block_is_covered`` until a test here runs it.
"""

from __future__ import annotations

import re
import select
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import rung
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

#: the names a page leaves to the reader: the README's space
SPACE = {
    "lr": rung.Float(1e-5, 1e-1, log=True),
    "width": rung.Int(16, 512, log=True),
    "opt": rung.Categorical(["adam", "sgd"]),
    "momentum": rung.Float(0.0, 0.99, when={"opt": "sgd"}),
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

#: define-by-run's placeholders: ``build(opt, lr, momentum, width)``, then the same loss
DBR_PRELUDE = '''\
import math


class _Model:
    def __init__(self, opt, lr, momentum, width):
        self.opt, self.lr, self.momentum, self.width, self.epoch = opt, lr, momentum, width, 0


def build(opt, lr, momentum, width):
    return _Model(opt, lr, momentum, width)


def evaluate(model):
    return (math.log10(model.lr) + 3) ** 2 / model.epoch + 1 / model.width + model.momentum / 10


def fit_one_epoch(model):
    model.epoch += 1
    return evaluate(model)
'''


def _cli(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rung", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def _flat(page: str) -> str:
    """The page's text with every run of white space one space (lines rewrap freely)."""
    return " ".join((ROOT / ("README.md" if page == "README" else f"docs/{page}.md"))
                    .read_text().split())


_NUMBER = re.compile(r"(\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?)")


def _same_line(printed: str, shown: str, rel: float = 0.02) -> bool:
    """Whether ``printed`` is the ``shown`` line: the same words (white space aside: columns
    widen with their numbers) and the same numbers, each within ``rel`` of the shown one (a
    library's rounding may move a last digit; an exact run reproduces the page)."""
    a, b = _NUMBER.split(printed), _NUMBER.split(shown)
    if len(a) != len(b):
        return False
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if i % 2 == 0:
            if x.split() != y.split():
                return False
        elif float(x.replace(",", "")) != pytest.approx(float(y.replace(",", "")), rel=rel):
            return False
    return True


def _same_lines(printed: list[str], shown: list[str]) -> bool:
    return len(printed) == len(shown) and all(map(_same_line, printed, shown))


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
    assert lines[head - 1] == "executor not recorded (the study was not created by `rung run`)"
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


# --- the dashboard and plots ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def branin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory whose ``runs/branin.db`` holds the README's simulated study."""
    where = tmp_path_factory.mktemp("branin")
    (where / "branin.yaml").write_text(textwrap.dedent("""\
        name: branin
        executor: simulated
        benchmark: {name: mf-branin}
        searcher: tpe
        scheduler: {name: asha, params: {reduction_factor: 3}}
        budget: {n_trials: 200}
        n_workers: 8
    """))
    run = _cli("run", "branin.yaml", "--no-live", cwd=where)
    assert run.returncode == 0, run.stderr
    return where


@pytest.mark.slow
def test_dashboard_plot_blocks(branin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.figure import Figure

    monkeypatch.chdir(branin)
    ns: dict[str, Any] = {}
    exec(blocks("dashboard")[0], ns)
    assert isinstance(ns["fig"], Figure)
    assert (branin / "curves.svg").read_text().lstrip().startswith("<?xml")
    assert (branin / "workers.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the `rung plot` block, and the mistakes the text names
    commands = [line.split("#")[0].split()[1:] for line in fences("dashboard")[3][1].splitlines()
                if line.startswith("rung plot")]
    assert len(commands) == 2
    for args in commands:
        r = _cli(*args, cwd=branin)
        assert r.returncode == 0, r.stderr
        out = branin / args[args.index("-o") + 1]
        assert out.stat().st_size > 1000
    text = _flat("dashboard")
    for args, message in (
        (["plot", "branin", "-o", "plot.jpg"],
         "rung: error: -o plot.jpg: write a .png, .svg, .pdf or .html file"),
        (["plot", "branin", "--kind", "pareto", "-o", "p.png"],
         "rung: error: study 'branin' has one objective: a Pareto front needs two or more "
         "(rung.Study.create(objective=[...]))"),
    ):
        r = _cli(*args, cwd=branin)
        assert (r.returncode, r.stderr.strip()) == (2, message)
        assert f"`{message}`" in text, message
    # the two tables: every kind `rung plot` takes, and the function that draws each
    import rung.plot as rp

    page = (ROOT / "docs" / "dashboard.md").read_text()
    kinds = re.findall(r"^\| `([a-z]+)` \| ", page, re.M)
    functions = dict(re.findall(r"^\| `(\w+)\(study\)` \| `([a-z]+)` \|$", page, re.M))
    assert sorted(kinds) == sorted(rp.KINDS)
    assert {kind: f for f, kind in functions.items()} == {
        kind: f.__name__ for kind, f in rp.KINDS.items()}
    with pytest.raises(ValueError, match="^unknown plot kind 'nope': one of " +
                       ", ".join(rp.KINDS) + "$"):
        rp.plot(ns["study"], "nope")
    # .html: the figure as inline SVG, no scripts
    rp.save(ns["fig"], "curves.html")
    html = (branin / "curves.html").read_text()
    assert "<svg" in html and "<script" not in html


@pytest.mark.slow
def test_dashboard_from_python(branin: Path) -> None:
    """"From Python": the app over a directory serves the JSON addresses the page lists; the
    ledger's JSON says ``priced`` (false: the study has no prices), the overview's time is
    simulated time (every session ran on the simulated executor)."""
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from rung.dashboard import create_app

    text = _flat("dashboard")
    listed = re.findall(r"`((?:/api/|\.\.\./)[^`]+)`", text.split("### From Python")[1])
    assert listed[:2] == ["/api/studies", "/api/study/NAME"] and len(listed) == 9
    client = TestClient(create_app(branin / "runs"))
    for address in listed:
        address = address.replace(".../", "/api/study/NAME/").replace("NAME", "branin")
        address = address.replace("/ID", "/3").replace("=&", "=value&", 1)
        assert client.get(address).status_code == 200, address
    assert client.get("/api/study/branin/ledger").json()["priced"] is False
    assert client.get("/api/study/branin").json()["time_kind"] == "simulated"
    assert client.get("/ledger?study=branin").status_code == 200
    # the trials table: the reason in the page's form; the filter keeps the rows holding every
    # word ("`completed` keeps the completed trials")
    shape = (r"rank \d+/\d+ at rung \d+ \(step \d+\): not in the top 1/3 "
             r"\(cutoff loss=[\d.]+\)")
    assert re.search(f"`{shape}`", text)
    rows = client.get("/api/study/branin/trials?limit=200").json()["rows"]
    reasons = [r["reason"] for r in rows if r["status"] == "stopped"]
    assert reasons and all(re.fullmatch(shape, r) for r in reasons)
    for q in ("completed", "stopped"):
        found = client.get(f"/api/study/branin/trials?q={q}").json()
        assert found["matched"] == sum(r["status"] == q for r in rows) > 0
        assert found["total"] == 200


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    """The dashboards a test starts, interrupted (as Ctrl-C does) when it ends."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.mark.slow
def test_dashboard_serves(tmp_path: Path, served: list[subprocess.Popen[str]]) -> None:
    """Each command of the first block (with ``--port 0``: any free port) prints the address
    to open, in the form the page shows."""
    study = rung.Study.create("mlp", {"x": rung.Float(0.0, 1.0)}, "loss",
                              storage=str(tmp_path / "runs" / "mlp.db"))
    t = study.ask()
    assert t is not None
    study.tell(t.id, "completed", {"loss": 0.5})
    study.close()
    shown = fences("dashboard")[1][1].strip()
    assert shown == ("rung: dashboard of the studies in runs at http://127.0.0.1:8080/ "
                     "(Ctrl-C to stop)")
    commands = [line.split("#")[0].split()[1:] for line in fences("dashboard")[0][1].splitlines()
                if line.startswith("rung dashboard")]
    assert commands == [["dashboard"], ["dashboard", "--storage", "runs/mlp.db"],
                        ["dashboard", "mlp", "--storage", "runs"]]
    for args in commands:
        p = subprocess.Popen([sys.executable, "-m", "rung", *args, "--port", "0"], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        served.append(p)
        assert p.stdout is not None
        ready, _, _ = select.select([p.stdout], [], [], 120)
        assert ready, f"rung {' '.join(args)} printed nothing in 2 minutes"
        line = p.stdout.readline().strip()
        port = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert port is not None and port.group(1) != "0", line
        if args == ["dashboard"]:
            assert line == shown.replace(":8080/", f":{port.group(1)}/")
        else:
            assert line.startswith("rung: dashboard of ") and line.endswith(
                f" at http://127.0.0.1:{port.group(1)}/ (Ctrl-C to stop)")


@pytest.mark.slow
def test_dashboard_mistakes(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    rung.Study.create("mlp", {"x": rung.Float(0.0, 1.0)}, "loss",
                      storage=str(tmp_path / "runs" / "mlp.db")).close()
    lines = fences("dashboard")[2][1].splitlines()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for command, error in zip(lines[::2], lines[1::2], strict=True):
            assert command.startswith("$ rung dashboard")
            args = command[2:].split("#")[0].split()[1:]
            if "--port" in args:  # "while another server has it": this test's socket
                args[args.index("--port") + 1] = port
                error = error.replace("8080", port)
            r = _cli(*args, cwd=tmp_path, timeout=60)
            assert (r.returncode, r.stdout, r.stderr.strip()) == (2, "", error)


# --- define-by-run -------------------------------------------------------------------------------
@pytest.mark.slow
def test_define_by_run_optimize_block(tmp_path: Path) -> None:
    """The first block, 100 trials on 4 workers: the space it learns is the one the page
    describes (``momentum`` conditional on ``opt == "sgd"``, ``lr`` unconditional)."""
    block = blocks("define-by-run")[0]
    epilogue = in_main("""
        print(len(study.trials()), study.spec.scheduler.name, study.spec.max_step)
        print(repr(study.engine.space["momentum"]), repr(study.engine.space["lr"]))
    """)
    out = run_script(tmp_path, "dbr.py", DBR_PRELUDE + block + epilogue).strip().splitlines()
    assert out[-2:] == [
        "100 asha 27",
        "Float(low=0.0, high=0.99, when={'opt': 'sgd'}) Float(low=1e-05, high=0.1, log=True)"]
    assert "`momentum` becomes `Float(0, 0.99, when={\"opt\": \"sgd\"})`" in _flat("define-by-run")
    assert (tmp_path / "runs" / "dbr.db").exists()


def test_define_by_run_fixed_trial_block() -> None:
    """The FixedTrial block runs the first block's objective (its asserts hold), and the
    mistakes the text names are ConfigErrors naming the parameter."""
    first, fixed = blocks("define-by-run")[0], blocks("define-by-run")[2]
    ns: dict[str, Any] = {"__name__": "docs"}  # not "__main__": the study does not run
    exec(DBR_PRELUDE + first + fixed, ns)
    trial = ns["trial"]
    assert ns["final"] == trial.reports[-1][1]["loss"]
    assert trial.params == {"opt": "sgd", "lr": 0.01, "momentum": 0.9, "width": 64}
    from rung.dbr import FixedTrial

    with pytest.raises(rung.ConfigError, match="^width"):
        ns["objective"](FixedTrial({"opt": "sgd", "lr": 0.01, "momentum": 0.9}))
    with pytest.raises(rung.ConfigError, match="^width"):
        ns["objective"](FixedTrial({"opt": "sgd", "lr": 0.01, "momentum": 0.9, "width": 1000}))


def test_define_by_run_refusals(tmp_path: Path) -> None:
    """What the page says rung.optimize and a Trial refuse, with the names it says."""
    from rung.dbr import FixedTrial

    def objective(trial: Any) -> float:
        return float(trial.suggest_float("x", 0.0, 1.0))

    db = tmp_path / "dbr.db"
    for kwargs, start in (
        ({"searcher": "grid"}, "searcher: a grid needs its space up front"),
        ({"scheduler": rung.PBT()}, "scheduler: PBT perturbs hyperparameters of a space "
                                    "declared up front"),
        ({"direction": "minimize"}, "direction: not an argument of rung.optimize, nor of "
                                    "Study.run or the local executor; here it is mode="),
        ({"n_jobs": 2}, "n_jobs: not an argument of rung.optimize, nor of Study.run or the "
                        "local executor; here it is n_workers"),
    ):
        with pytest.raises(rung.ConfigError) as err:
            rung.optimize(objective, n_trials=2, storage=str(db), **kwargs)
        assert str(err.value).startswith(start)
        assert not db.exists()  # refused before anything is written
    trial = FixedTrial({"x": 0.5})
    for name, instead in (("suggest_uniform", "suggest_float(name, low, high)"),
                          ("suggest_loguniform", "log=True"),
                          ("suggest_discrete_uniform", "step=q")):
        with pytest.raises(AttributeError, match=re.escape(instead)):
            getattr(trial, name)
    # Optuna's 'if trial.should_prune(): raise TrialPruned()' runs unchanged (the page says so)
    assert trial.should_prune() is False


def test_define_by_run_bounds_block() -> None:
    """The objective whose ``units`` range depends on ``depth``: a value in the range it
    declares is used, one outside it is a ConfigError naming ``units``."""
    from rung.dbr import FixedTrial

    ns: dict[str, Any] = {}
    exec(blocks("define-by-run")[1], ns)
    trial = FixedTrial({"depth": 3, "units": 2})
    assert ns["objective"](trial) is None and trial.params == {"depth": 3, "units": 2}
    with pytest.raises(rung.ConfigError, match="^units"):
        ns["objective"](FixedTrial({"depth": 3, "units": 6}))


@pytest.mark.slow
def test_define_by_run_messages(tmp_path: Path) -> None:
    """The two errors the page shows are what ``rung.optimize`` raises; and the bounds block's
    objective, run by ``rung.optimize``, learns ``units`` over every range it was declared
    with, and never uses a value outside the range its trial asked for; a step counted from 0
    and Optuna's ``TrialPruned`` end trials as "Coming from Optuna" says."""
    bounds = blocks("define-by-run")[1]
    code = bounds + textwrap.dedent('''

        def scored(trial):
            objective(trial)
            return float(trial.suggest_int("depth", 1, 8))   # the first call's value


        def log_changes(trial):
            return trial.suggest_float("x", 0.1, 1.0, log=trial.id >= 1)


        def returns_bool(trial):
            return trial.suggest_float("x", 0.0, 1.0) > 2.0


        def from_zero(trial):  # Optuna's loop, unchanged
            x = trial.suggest_float("x", 0.0, 1.0)
            for step in range(3):
                trial.report(step, x)


        def pruned(trial):
            import optuna

            trial.report(1, trial.suggest_float("x", 0.0, 1.0))
            raise optuna.TrialPruned("not promising")


        if __name__ == "__main__":
            study = rung.optimize(scored, n_trials=30, n_workers=1, seed=0)
            trials = study.trials()
            print(all(1 <= t.params["units"] <= t.params["depth"] for t in trials),
                  max(t.params["depth"] for t in trials), repr(study.engine.space["units"]))
            for f in (log_changes, returns_bool, from_zero):
                try:
                    rung.optimize(f, n_trials=2, n_workers=1)
                except rung.ConfigError as e:
                    print(e)
            study = rung.optimize(pruned, n_trials=2, n_workers=1)
            print([(t.status.value, t.error) for t in study.trials()])
    ''')
    out = run_script(tmp_path, "dbr_messages.py", "import rung\n\n" + code)
    lines = out.strip().splitlines()[-5:]
    assert lines[0] == "True 8 Int(low=1, high=8)"  # "Int(1, 8) once depth = 8 has run"
    shown = [text.strip() for lang, text in fences("define-by-run") if lang == ""]
    assert lines[1:3] == shown
    # "a step that is not an integer >= 1 fails the trial and rung.optimize raises a
    # ConfigError naming it"; "an optuna.TrialPruned ... ends the trial as stopped (its message
    # is the trial's reason)"
    assert lines[3].startswith("step: must be >= 1 ") and lines[3].endswith("got 0 (trial 0)")
    assert lines[4] == "[('stopped', 'not promising'), ('stopped', 'not promising')]"


def test_define_by_run_enqueue_block() -> None:
    ns: dict[str, Any] = {"rung": rung, "space": SPACE}
    exec(blocks("define-by-run")[3], ns)
    study = ns["study"]
    first, second = study.ask(), study.ask()
    assert first is not None and second is not None
    assert first.params == {"lr": 1e-3, "width": 128, "opt": "adam"}
    # partial: the searcher completes it
    assert {k: second.params[k] for k in ("opt", "momentum")} == {"opt": "sgd", "momentum": 0.9}
    assert set(second.params) == {"lr", "width", "opt", "momentum"}
    assert 1e-5 <= second.params["lr"] <= 1e-1


def test_define_by_run_fidelity_block() -> None:
    ns: dict[str, Any] = {"rung": rung, "space": SPACE}
    exec(blocks("define-by-run")[4], ns)
    f, g, study = ns["f"], ns["g"], ns["study"]
    assert (f.steps, f.values) == ((1, 3, 9, 27), (1000, 3000, 9000, 27000))
    assert (g.steps, g.values) == ((1, 3, 9, 10), (0.1, 0.3, 0.9, 1.0))
    assert study.spec.max_step == 27  # Study.create(fidelity=...) sets max_step from it


@pytest.mark.slow
def test_define_by_run_fidelities_block(tmp_path: Path) -> None:
    """``fit`` from the page on the fidelity study above it: every result lies at a rung's
    step and is scored on that rung's sample count."""
    prelude = textwrap.dedent("""\
        import rung

        space = {"c": rung.Float(0.01, 10.0, log=True)}


        def score(params, n_samples):
            return abs(params["c"] - 1.0) + 1000.0 / n_samples


    """)
    epilogue = in_main("""
        study.run(fit, n_workers=2)
        steps = {r.step: round(r.metrics["loss"] - abs(t.params["c"] - 1.0), 9)
                 for t in study.trials() for r in t.results}
        print(len(study.trials()), sorted(steps.items()))
    """)
    # the study is created under the main guard (workers import the script) and, as it has no
    # budget, given one of 12 trials
    study = blocks("define-by-run")[4].replace('"svm", space,', '"svm", space, budget={"n_trials": 12},')
    assert "budget=" in study
    code = (prelude + blocks("define-by-run")[5] + '\n\nif __name__ == "__main__":\n'
            + in_main(study) + epilogue)
    out = run_script(tmp_path, "fidelities.py", code).strip().splitlines()[-1]
    assert out == "12 [(1, 1.0), (3, 0.333333333), (9, 0.111111111), (27, 0.037037037)]"
