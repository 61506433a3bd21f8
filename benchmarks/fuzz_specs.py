"""Fuzz spec and search-space validation: every input is accepted or refused with a one-line
``RungError`` naming the key; nothing else may escape.

Three families of cases, drawn by Hypothesis strategies (shared with ``tests/test_fuzz_specs.py``,
which runs a few thousand in CI):

* ``yaml``: the bytes of a spec file (a valid spec dumped to YAML, then mutated: duplicated lines,
  inserted bytes, truncation, YAML oddities such as tags, anchors, merges, dates, sets) through
  ``rung.cli.spec_yaml.loads_yaml`` and ``parse_spec``;
* ``mapping``: parsed specs (a valid spec with keys set to wrong types, odd numbers, unknown
  names, random parameters, components, budgets, constraints...) through ``parse_spec``;
* ``space``: Python search spaces (``SearchSpace({...})`` of ``Float``/``Int``/``Categorical``/
  ``Fixed`` with random, often wrongly typed arguments and ``when=`` conditions, tuples, lists,
  JSON dicts, NumPy scalars); an accepted space must also sample, validate its samples and
  round-trip through JSON. Parameters and spaces are drawn by ``_fuzz_spaces.py``.

A share of the refused spec cases also goes through ``rung run`` in-process: exit code 2, one
line on stderr, and no file written. The objective is never imported (``parse_spec`` does not),
and accepted specs are never run.

    python benchmarks/fuzz_specs.py --cases 100000     # writes the "Fuzz" section of RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from _fuzz_checks import (  # re-exported: tests/test_fuzz_specs.py uses them from here
    OBJECTIVES,
    Violation,
    check_cli,
    check_mapping,
    check_space,
    check_yaml,
)
from _fuzz_spaces import good_params, param_dicts, python_spaces  # parameters, spaces
from _fuzz_values import (  # the odd values every strategy draws from
    _ODD_STRINGS,
    anything,
    maybe_number,
    numbers,
    scalars,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from rung import SearchSpace
from rung.core.registry import lookup, names

HERE = Path(__file__).resolve().parent


# --- spec mappings -----------------------------------------------------------------------------
TOP_KEYS = (
    "name", "objective", "path", "space", "metric", "mode", "max_step", "searcher", "scheduler",
    "budget", "executor", "n_workers", "storage", "seed", "keep_checkpoints", "benchmark",
    "checkpoint_every", "constraints", "max_failures", "trial_timeout",
)
BENCHMARKS = ("counting-ones", "curve-table", "mf-branin", "mf-hartmann3", "mf-hartmann6")


def base_spec(simulated: bool) -> dict[str, Any]:
    """A valid spec: a local run of ``cli_objectives:train`` or a simulated benchmark run."""
    if simulated:
        return {"name": "fz", "executor": "simulated", "benchmark": {"name": "mf-branin"},
                "scheduler": {"name": "asha", "params": {"reduction_factor": 3}},
                "budget": {"n_trials": 8}, "n_workers": 2, "seed": 1}
    return {
        "name": "fz", "objective": "cli_objectives:train", "path": str(OBJECTIVES),
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0},
                  "c": ["a", "b"], "k": {"type": "int", "low": 1, "high": 9}},
        "metric": "loss", "mode": "min", "max_step": 9, "searcher": "random",
        "scheduler": {"name": "asha", "params": {"reduction_factor": 3}},
        "budget": {"n_trials": 4}, "n_workers": 1,
    }


def _signatures(kind: str) -> dict[str, list[str]]:
    import inspect

    return {n: list(inspect.signature(lookup(kind, n).__init__).parameters)[1:]
            for n in names(kind)}


_SIGNATURES = {k: _signatures(k) for k in ("searcher", "scheduler")}
_COMPONENT_NAMES = {
    k: st.one_of(st.sampled_from(sorted(v)), st.sampled_from(["auto", "ashaa", ""]), scalars)
    for k, v in _SIGNATURES.items()
}


@st.composite
def components(draw: st.DrawFn, kind: str) -> Any:
    """A searcher or scheduler entry: a name, or ``{name, params}`` with known and unknown
    parameters set to plausible or wrong values."""
    known = _SIGNATURES[kind]
    name = draw(_COMPONENT_NAMES[kind])
    if draw(st.booleans()):
        return name
    params: dict[Any, Any] = {}
    sig = known.get(name, []) if isinstance(name, str) else []
    for _ in range(draw(st.integers(0, 3)) if sig else 0):
        params[sig[draw(st.integers(0, len(sig) - 1))]] = draw(maybe_number)
    if draw(st.integers(0, 5)) == 0:
        params[draw(st.text(max_size=5))] = draw(anything)
    entry: dict[Any, Any] = {"name": name, "params": params}
    if draw(st.integers(0, 6)) == 0:
        entry["params"] = draw(anything)
    if draw(st.integers(0, 6)) == 0:
        entry[draw(st.text(max_size=4))] = draw(anything)
    return entry


@st.composite
def constraints(draw: st.DrawFn) -> Any:
    item = st.one_of(
        st.builds(lambda m, op, b: f"{m} {op} {b}", st.sampled_from(["loss", "lat", "", "a b"]),
                  st.sampled_from(["<=", ">=", "<", "=="]), st.one_of(numbers, st.text(max_size=3))),
        st.fixed_dictionaries({"metric": st.one_of(st.just("loss"), scalars)},
                              optional={"op": st.one_of(st.sampled_from(["<=", ">="]), scalars),
                                        "bound": maybe_number, "strict": anything}),
        anything,
    )
    return draw(st.one_of(st.lists(item, max_size=3), anything))


@st.composite
def spec_mappings(draw: st.DrawFn) -> Any:
    """A spec as YAML would parse it: a valid one with 0 to 5 mutations."""
    spec: Any = base_spec(draw(st.booleans()))
    for _ in range(draw(st.sampled_from([0, 1, 1, 2, 2, 3, 4, 5]))):
        op = draw(st.sampled_from([
            "set", "delete", "param", "param", "param", "component", "budget", "constraints",
            "metric", "name", "storage", "max_step", "benchmark", "unknown",
        ]))
        if op == "set":
            spec[draw(st.sampled_from(TOP_KEYS))] = draw(anything)
        elif op == "delete" and spec:
            spec.pop(draw(st.sampled_from(sorted(spec, key=str))), None)
        elif op == "param":
            space = spec.get("space")
            if not isinstance(space, dict):
                space = spec["space"] = {}
            parents = [k for k in space if isinstance(k, str)]
            pname = draw(st.one_of(st.sampled_from(["x", "c", "k", "y"]), st.text(max_size=4),
                                   scalars))
            if draw(st.booleans()):  # a sound parameter, in its JSON form
                good = draw(good_params({n: SearchSpace.coerce(space)[n] for n in parents}
                                        if _sound(space) else {}))
                space[pname] = good.to_json() if hasattr(good, "to_json") else good
            else:
                space[pname] = draw(param_dicts(parents))
        elif op == "component":
            kind = draw(st.sampled_from(["searcher", "scheduler"]))
            spec[kind] = draw(components(kind))
        elif op == "budget":
            spec["budget"] = draw(st.one_of(
                st.dictionaries(st.sampled_from(["n_trials", "max_time", "max_steps", "n_trial"]),
                                maybe_number, max_size=3),
                anything,
            ))
        elif op == "constraints":
            spec["constraints"] = draw(constraints())
        elif op == "metric":
            spec["metric"] = draw(st.one_of(
                st.sampled_from(["loss", "value", "los"]), st.lists(
                    st.sampled_from(["loss", "value", "acc", ""]), max_size=3), anything))
            spec["mode"] = draw(st.one_of(
                st.sampled_from(["min", "max"]), st.lists(st.sampled_from(["min", "max", "up"]),
                                                          max_size=3), anything))
        elif op == "name":
            spec["name"] = draw(st.one_of(st.text(min_size=1, max_size=12),
                                          st.sampled_from(_ODD_STRINGS)))
        elif op == "storage":
            spec["storage"] = draw(st.one_of(st.sampled_from([*_ODD_STRINGS, "runs/x.db", "spec.yaml/x.db", "/proc/1/nope/x.db", "sqlite:///a.db", "a?b#c.db", "x" * 256 + ".db", "/dev/null", "/", "."]), st.text(max_size=12), anything))
        elif op == "max_step":
            spec[draw(st.sampled_from(["max_step", "max_failures", "trial_timeout"]))] = draw(
                maybe_number)
        elif op == "benchmark":
            spec["executor"] = "simulated"
            spec.pop("objective", None)
            spec.pop("path", None)
            spec["benchmark"] = draw(st.one_of(
                st.sampled_from(BENCHMARKS),
                st.fixed_dictionaries({"name": st.sampled_from(BENCHMARKS)}, optional={
                    "params": st.dictionaries(st.sampled_from(
                        ["dim", "noise", "seed", "max_step", "path", "bogus"]), maybe_number,
                        max_size=2)}),
                anything))
        elif op == "unknown":
            spec[draw(st.one_of(st.text(max_size=6), scalars))] = draw(anything)
    if draw(st.integers(0, 30)) == 0:
        spec = draw(anything)  # not a mapping at all
    return spec


def _sound(space: Mapping[Any, Any]) -> bool:
    try:
        SearchSpace(space)
    except Exception:
        return False
    return True


# --- YAML bytes --------------------------------------------------------------------------------
_SNIPPETS = [
    "x: !!python/object/apply:os.system [echo]", "a: &a [1, *a]", "<<: *nope", "? [a, b]\n: 1",
    "seed: !!binary aGVsbG8=", "seed: 2001-12-14", "space: !!set {a, b}", "\tname: x",
    "%YAML 1.1\n---", "---\n---", "max_step: .nan", "max_step: 0x1F", "max_step: 1_000",
    "max_step: 0o17", "name: |\n  multi\n  line", "name: >\n  folded", "budget: {n_trials: 4",
    "space: {x: {type: float, low: 0, high: 1}, x: [1]}", "name: a\nname: b", "- 1\n- 2", "",
    "~", "name: !!str", "name: &n x\nobjective: *n", "b: &b {n_trials: 2}\nbudget: {<<: *b}",
    "space:\n  x: {type: int, low: 1, high: 3, low: 2}", "max_step: 100000000000000000000000000",
    "name: \"\\x00\"", "name: \"\\ud800\"", "seed: !!timestamp 2001-12-14t21:59:43.10-05:00",
    "constraints: [loss <= 1, loss <= 1]", "mode: [min, max]", "...", "!!map {}",
]


@st.composite
def yaml_bytes(draw: st.DrawFn) -> bytes:
    """The bytes of a spec file: a dumped spec mapping, mutated."""
    data = draw(spec_mappings())
    try:
        text = yaml.safe_dump(data, allow_unicode=draw(st.booleans()),
                              default_flow_style=draw(st.sampled_from([None, False, True])))
    except yaml.YAMLError:
        text = "name: x\n"
    raw = text.encode("utf-8", "surrogatepass")
    for _ in range(draw(st.integers(0, 3))):
        lines = raw.split(b"\n")
        op = draw(st.sampled_from(["dup", "snippet", "snippet", "bytes", "truncate", "indent"]))
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        if op == "dup" and lines:
            lines.insert(i, lines[i])
        elif op == "snippet":
            lines.insert(i, draw(st.sampled_from(_SNIPPETS)).encode())
        elif op == "bytes":
            pos = draw(st.integers(0, len(raw)))
            raw = raw[:pos] + draw(st.binary(min_size=1, max_size=3)) + raw[pos:]
            continue
        elif op == "truncate":
            raw = raw[: draw(st.integers(0, len(raw)))]
            continue
        elif op == "indent" and lines:
            lines[i] = b"  " + lines[i]
        raw = b"\n".join(lines)
    return raw


CASES = st.one_of(
    st.tuples(st.just("yaml"), yaml_bytes()),
    st.tuples(st.just("mapping"), spec_mappings()),
    st.tuples(st.just("space"), python_spaces()),
)


def run(cases: int, cli_every: int, seed: int | None) -> dict[str, Any]:
    """Run ``cases`` cases; returns counts and the first violations (never raises for one)."""
    counts: Counter[str] = Counter()
    violations: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="rung-fuzz-"))
    os.chdir(workdir)  # the default storage (runs/) is relative to it: must stay empty
    cli_dir = workdir / "cli"
    cli_dir.mkdir()

    @settings(max_examples=cases, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), derandomize=seed is not None)
    @given(case=CASES)
    def one(case: tuple[str, Any]) -> None:
        family, value = case
        counts[family] += 1
        check = {"yaml": check_yaml, "mapping": check_mapping, "space": check_space}[family]
        try:
            verdict = check(value)
            counts[verdict] += 1
            counts[f"{family} {verdict}"] += 1
            if verdict == "rejected" and family == "yaml" and counts["yaml"] % cli_every == 0:
                check_cli(value, cli_dir)
                counts["cli"] += 1
        except Violation as v:
            counts["other"] += 1
            if len(violations) < 20:
                violations.append(f"{family}: {v} <- {value!r:.300}")
                print(f"VIOLATION {violations[-1]}", flush=True)
        if sum(counts[f] for f in ("yaml", "mapping", "space")) % 10_000 == 0:
            print(f"  {dict(counts)}", flush=True)

    one()
    return {"counts": dict(counts), "violations": violations}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=100_000)
    p.add_argument("--cli-every", type=int, default=50,
                   help="every Nth refused YAML case also goes through `rung run` in-process")
    p.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    args = p.parse_args()
    start = time.perf_counter()
    cwd = os.getcwd()
    result = run(args.cases, args.cli_every, seed=None)
    os.chdir(cwd)
    secs = time.perf_counter() - start
    c = result["counts"]
    total = c.get("yaml", 0) + c.get("mapping", 0) + c.get("space", 0)
    print(f"cases {total} (yaml {c.get('yaml', 0)}, mapping {c.get('mapping', 0)}, "
          f"space {c.get('space', 0)}): accepted {c.get('accepted', 0)}, rejected with RungError "
          f"{c.get('rejected', 0)}, other exceptions {c.get('other', 0)}; through `rung run` "
          f"{c.get('cli', 0)}; {secs:.0f} s")
    for v in result["violations"]:
        print("VIOLATION", v)
    if not args.no_write:
        sys.path.insert(0, str(HERE))
        from _results import write_section

        body = (
            "Every case is accepted or refused with a one-line `RungError` naming its key; "
            "refused spec files also go through `rung run` in-process (exit code 2, one "
            "stderr line, nothing written).\n\n"
            "| cases | YAML files | parsed specs | Python spaces | accepted | rejected with "
            "RungError | other exceptions | through `rung run` | seconds |\n"
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
            f"| {total} | {c.get('yaml', 0)} | {c.get('mapping', 0)} | {c.get('space', 0)} | "
            f"{c.get('accepted', 0)} | {c.get('rejected', 0)} | {c.get('other', 0)} | "
            f"{c.get('cli', 0)} | {secs:.0f} |\n"
        )
        write_section("Fuzz", body)
    return 1 if c.get("other", 0) else 0


if __name__ == "__main__":
    sys.exit(main())
