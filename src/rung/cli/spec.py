"""YAML study specs for the ``rung`` command: loading and complete validation.

A spec names a study and everything needed to run it, for example::

    name: mlp                     # letters (any script), digits, '.', '_', '-'; <= 100 bytes
    objective: train:fit          # module:function, imported from `path` (default: the spec's dir)
    space:
      lr: {type: float, low: 1.0e-5, high: 0.1, log: true}
      opt: [adam, sgd]            # a list is categorical; a scalar is fixed
    metric: val_loss
    max_step: 27
    scheduler: {name: asha, params: {reduction_factor: 3}}   # searcher / scheduler: default auto
    budget: {n_trials: 100}

The reference of every key (``_TOP_KEYS``: type, default, limits, an example of each) is
``docs/spec.md``; ``tests/cli/test_spec_reference.py`` fails when a key accepted here is missing
there, and parses every example of the page.

``load_spec`` validates *everything* (including importing the objective and binding the searcher
and scheduler) before the caller opens any storage, and raises ``SpecError`` whose message is one
line naming the offending key, e.g. ``spec.space.lr.low: must be < high (got low=1, high=0.1)``.
Plain values are read by YAML 1.2's core schema: ``1e-5`` is a number, only ``true`` and
``false`` are booleans (``yes``, ``no``, ``on``, ``off`` are text), and an integer with a leading
zero (``017``, octal in YAML 1.1) is refused as ambiguous. Reading the file (UTF-8, YAML, those
scalars, no key given twice or empty) is ``rung.cli.spec_yaml``; importing and
checking the objective is ``rung.cli.spec_objective``; the ``StudySpec`` (metric, constraints,
budget, components) is ``rung.cli.spec_study``; the validated ``RunSpec``, and how it is
stored in the journal and rebuilt from it, is ``rung.cli.spec_run``.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rung._renamed import AliasWarning
from rung._validate import MAX_STEP, check_int, is_int
from rung.cli.spec_cost import COST_KEYS
from rung.cli.spec_error import (
    SpecError,
    as_spec_error,
    close_hint,
    key_problem,
    kind_of,
    wrap,
)
from rung.cli.spec_extras import (
    EXECUTOR_KEYS,
    EXTRA_KEYS,
    spec_executor_options,
    spec_fidelity,
    with_extras,
)
from rung.cli.spec_objective import add_spec_paths, check_named_imports, resolve_objective
from rung.cli.spec_run import (  # re-exported
    CLI_KEY,
    RunSpec,
    load_benchmark,
    spec_from_journal,
)
from rung.cli.spec_study import check_reported, study_spec
from rung.cli.spec_tracking import TRACKING_KEYS, spec_tracking
from rung.cli.spec_yaml import read_yaml
from rung.errors import ConfigError
from rung.executors.local_devices import default_workers
from rung.executors.processes import check_local_workers
from rung.space import Fidelity, SearchSpace
from rung.storage.paths import names_directory, storage_problem

#: Executors the CLI can drive.
EXECUTORS = ("local", "ray", "simulated")

_TOP_KEYS = (
    "name", "objective", "path", "space", "metric", "mode", "max_step", "searcher", "scheduler",
    "budget", "executor", "n_workers", "storage", "seed", "keep_checkpoints", "benchmark",
    "max_failures", "trial_timeout",
    "checkpoint_every", "constraints", *EXTRA_KEYS, *EXECUTOR_KEYS, *COST_KEYS, *TRACKING_KEYS,
)
#: Longest study name, in UTF-8 bytes: ``<name>.db`` and its lock file fit a file name.
NAME_MAX_BYTES = 100
#: A URL's scheme (two letters at least: ``C://`` is a Windows drive).
_URL_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")
_REF_RE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


# --- loading ----------------------------------------------------------------------------------
def load_spec(
    path: str | os.PathLike[str], import_objective: bool = True, n_workers: int | None = None
) -> tuple[RunSpec, Callable[..., Any] | None]:
    """Read and validate a spec file; returns the spec and the imported objective function
    (``None`` for a simulated benchmark run, or when ``import_objective`` is false).
    ``n_workers``: ``rung run --workers N`` (see ``parse_spec``). A deprecated key (a
    parameter's alias, ``rung._renamed``) is printed as one ``rung: warning: spec.<key>: ...``
    line on stderr naming rung's name."""
    data = read_yaml(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AliasWarning)
        spec = parse_spec(data, base_dir=Path(path).resolve().parent, n_workers=n_workers)
    for w in caught:  # a deprecated key: one line naming rung's; any other warning as it was
        if issubclass(w.category, AliasWarning):
            print(f"rung: warning: spec.{w.message}", file=sys.stderr, flush=True)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    fn = None
    if import_objective and spec.objective:
        fn = resolve_objective(spec)
    elif import_objective:  # a simulated benchmark: what the spec names by module still imports
        add_spec_paths(spec.path)
    if import_objective:
        check_named_imports(spec)
    return spec, fn


def parse_spec(data: Any, base_dir: Path | None = None, n_workers: int | None = None) -> RunSpec:
    """Validate a spec given as plain data (what YAML produced). ``base_dir`` anchors a
    relative ``path`` (default: the current directory). ``n_workers`` (``rung run --workers
    N``) stands for the spec's ``n_workers`` everywhere it is read: its bound (an error then
    names ``--workers``), the worker count ``auto`` chooses for, the executor's checks, and
    the ``RunSpec``."""
    top = _top_level(data)
    name = _name(top)
    executor = _executor(top)
    base = base_dir or Path.cwd()
    benchmark, bench = (_benchmark(top.get("benchmark"), base) if executor == "simulated"
                        else (None, None))
    objective, paths = _objective_ref(top, executor, base)
    space = _space(top.get("space")) if "space" in top or bench is None else bench.space
    fidelity = spec_fidelity(top)
    max_step = (_max_step(top, bench) if fidelity is None or "max_step" in top
                else _fidelity_max_step(fidelity, bench))
    n_workers, every = _workers(top, executor, n_workers)
    expected = n_workers or (1 if executor == "simulated"
                             else default_workers(top.get("resources_per_trial")))
    study, auto = study_spec(top, name, space, max_step, bench, expected)
    study = with_extras(top, study, fidelity)
    if bench is not None:
        check_reported(study, bench)
    options = spec_executor_options(top, executor, study, n_workers)
    return RunSpec(
        study=study, objective=objective, path=paths, executor=executor, n_workers=n_workers,
        storage=_storage(top.get("storage"), name), benchmark=benchmark, checkpoint_every=every,
        auto=auto, tracking=spec_tracking(top), options=options,
    )


# --- the pieces of parse_spec, one key (or a few related keys) each ------------------------------
def _top_level(data: Any) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise SpecError("spec", f"must be a mapping of keys to values, got {kind_of(data)}")
    _check_keys(data)
    for k in data:
        if k not in _TOP_KEYS:
            hint = close_hint(str(k), _TOP_KEYS, given=data)
            raise SpecError(f"spec.{k}", f"unknown key{hint} (known: {', '.join(_TOP_KEYS)})")
    return data


def _check_keys(data: Any) -> None:
    """Raise ``SpecError`` at the first mapping, anywhere in ``data``, with a key that is no
    name (``rung.cli.spec_error.key_problem``); the YAML reader says so with the line, this
    covers a spec given as data. Each container is visited once (YAML aliases may nest)."""
    seen: set[int] = set()
    stack: list[tuple[Any, str]] = [(data, "spec")]
    while stack:
        node, where = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, Mapping):
            for k, v in node.items():
                problem = key_problem(k)
                if problem is not None:
                    raise SpecError(where, problem)
                stack.append((v, f"{where}.{k}"))
        elif isinstance(node, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(node))


def check_name(name: Any) -> str:
    """A study name as a spec's ``name`` must be (see ``_name``): the NFC form of ``name``.

    Raises:
        SpecError: key ``spec.name``, saying what is wrong.
    """
    return _name({"name": name})


def _name(top: Mapping[str, Any]) -> str:
    """``name``: in NFC form, a letter or digit (of any script) then letters, digits, '.', '_'
    or '-', at most ``NAME_MAX_BYTES`` bytes in UTF-8 (it names the journal's files)."""
    name = top.get("name")
    if name is None:
        raise SpecError("spec.name", "missing (a name for the study, e.g. name: mlp)")
    if not isinstance(name, str):
        quote = f" (quote it: name: '{name}')" if is_int(name) else ""
        raise SpecError("spec.name", f"must be a string, got {kind_of(name)}{quote}")
    name = unicodedata.normalize("NFC", name)
    if not name or not name[0].isalnum() or any(not (c.isalnum() or c in "._-") for c in name):
        raise SpecError("spec.name", f"must start with a letter or digit and hold only letters "
                        f"(any script), digits, '.', '_' or '-', got {name!r}")
    size = len(name.encode("utf-8"))
    if size > NAME_MAX_BYTES:
        raise SpecError("spec.name", f"too long: {size} bytes in UTF-8, at most "
                        f"{NAME_MAX_BYTES} (it names the journal's files)")
    try:
        os.fsencode(name)
    except UnicodeError:
        raise SpecError("spec.name", f"{name!r} cannot be a file name with this system's "
                        f"encoding ({sys.getfilesystemencoding()}); use ASCII letters") from None
    return name


def _executor(top: Mapping[str, Any]) -> str:
    """``executor`` (default: simulated for a spec with a benchmark and no objective), and the
    keys that only one kind of executor reads."""
    simulated = top.get("benchmark") is not None and "objective" not in top
    executor = top.get("executor", "simulated" if simulated else "local")
    if executor not in EXECUTORS:
        raise SpecError("spec.executor", f"must be one of {', '.join(EXECUTORS)}, got "
                        f"{executor!r}{close_hint(executor, EXECUTORS)}")
    if executor == "simulated":
        if "objective" in top:
            raise SpecError("spec.objective",
                            "not used by the simulated executor (give a benchmark)")
    elif "benchmark" in top:
        raise SpecError("spec.benchmark", "only used with executor: simulated")
    return str(executor)


def _objective_ref(
    top: Mapping[str, Any], executor: str, base: Path
) -> tuple[str | None, tuple[str, ...]]:
    """``objective`` (``module:function``) and ``path``; a simulated run has no objective, and
    its ``path`` is where what the spec names by ``module:function`` (PBT's ``explore``) is
    imported from."""
    if executor == "simulated":
        return None, _paths(top.get("path", "."), base)
    objective = top.get("objective")
    if objective is None:
        raise SpecError("spec.objective", "missing (the training function as module:function)")
    if not isinstance(objective, str) or not _REF_RE.match(objective):
        raise SpecError(
            "spec.objective", f"must be 'module:function' (e.g. train:fit), got {objective!r}"
        )
    return objective, _paths(top.get("path", "."), base)


def _max_step(top: Mapping[str, Any], bench: Any) -> int:
    value = top.get("max_step", bench.max_step if bench else 1)
    if is_int(value) and value > MAX_STEP:
        raise SpecError("spec.max_step", f"at most {MAX_STEP:,} (a step is one report of a "
                        f"trial: an epoch, a round...), got {value:,}")
    max_step = _int("spec.max_step", value, 1)
    if bench is not None and max_step > bench.max_step:
        raise SpecError(
            "spec.max_step", f"the benchmark goes up to {bench.max_step}, got {max_step}"
        )
    return max_step


def _fidelity_max_step(fidelity: Fidelity, bench: Any) -> int:
    """The fidelity's last step, the study's ``max_step`` when the spec gives none. Beyond a
    simulated benchmark's ``max_step`` it is refused as a ``max_step`` would be (``SpecError``
    naming ``spec.fidelity``), before anything is written."""
    step = fidelity.max_step
    if bench is not None and step > bench.max_step:
        raise SpecError("spec.fidelity", f"its last value ({fidelity.values[-1]!r}) is step "
                        f"{step}; the benchmark goes up to {bench.max_step}")
    return step


def _workers(
    top: Mapping[str, Any], executor: str, given: int | None = None
) -> tuple[int | None, int | None]:
    """``n_workers`` (``given``, the ``--workers`` of the command line, in its place: the
    spec's own is still checked, as every key of the file is) and ``checkpoint_every`` (local
    and Ray executors only)."""
    n_workers = top.get("n_workers")
    if n_workers is not None:
        n_workers = check_workers(n_workers, executor, "spec.n_workers")
    if given is not None:
        n_workers = check_workers(given, executor, "--workers")
    every = top.get("checkpoint_every")
    if every is not None:
        every = _int("spec.checkpoint_every", every, 1)
        if executor not in ("local", "ray"):
            raise SpecError("spec.checkpoint_every", "only used with executor: local or ray")
    return n_workers, every


def check_workers(n_workers: Any, executor: str, key: str = "spec.n_workers") -> int:
    """``n_workers`` of a spec (``key``: ``spec.n_workers``, or ``--workers`` of ``rung run``
    / ``resume`` / ``demo``) as an ``int``, held to its executor's bound: at most
    ``rung.executors.processes.LOCAL_WORKERS_PER_CPU`` local worker processes per CPU this
    process may use (``check_local_workers``), at most ``rung.study.MAX_SIMULATED_WORKERS``
    simulated workers (the bound of ``Study.simulate``); a Ray cluster bounds its own.

    Raises:
        SpecError: naming ``key`` and the bound.
    """
    from rung.study import check_simulated_workers

    if executor == "simulated":
        return check_simulated_workers(n_workers, key, error=SpecError)
    n = _int(key, n_workers, 1)
    if executor == "local":
        ray = "; use executor: ray for more" if key == "spec.n_workers" else ""
        try:
            check_local_workers(n, key, more=ray)
        except ConfigError as e:
            raise SpecError(key, e.message) from None
    return n


def _storage(value: Any, name: str) -> Path:
    """The SQLite file: ``runs/<name>.db`` by default; ``sqlite:///`` URLs are accepted, and
    ``~`` is the user's home directory, as in a shell. The file must be creatable (or an
    existing file): see ``rung.storage.paths.storage_problem``."""
    if value is None:
        path = Path("runs") / f"{name}.db"
    elif not isinstance(value, str) or not value or value.startswith(":memory:"):
        raise SpecError("spec.storage", f"must be the path of an SQLite file, got {value!r}")
    else:
        url = _URL_RE.match(value)
        if url and value[:10].lower() != "sqlite:///":
            sqlite = url.group(1).lower() == "sqlite"
            raise SpecError("spec.storage", f"{value!r} is a URL rung cannot open: give the path "
                            "of an SQLite file" + (", or sqlite:/// and the path (three "
                            "slashes)" if sqlite else ""))
        raw = value[10:] if url else value
        if names_directory(raw):
            raise SpecError("spec.storage", f"{value!r} names a directory (it ends with a "
                            f"slash): give a .db file path, such as {raw.rstrip('/')}/{name}.db")
        path = _expand("spec.storage", raw)
    problem = storage_problem(path)
    if problem is not None:
        raise SpecError("spec.storage", problem)
    return path


# --- helpers ----------------------------------------------------------------------------------
def _int(key: str, v: Any, minimum: int) -> int:
    return check_int(key, v, minimum, error=SpecError)


def _expand(key: str, path: str) -> Path:
    """``path`` with a leading ``~`` or ``~user`` expanded, as a shell does (YAML does not)."""
    try:
        return Path(path).expanduser()
    except RuntimeError:  # ~user of no such user, or no home directory
        raise SpecError(key, f"cannot expand {path.split('/', 1)[0]!r}: no such user's home "
                        "directory") from None


def _paths(value: Any, base: Path) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for i, p in enumerate(items):
        key = "spec.path" if not isinstance(value, list) else f"spec.path[{i}]"
        if not isinstance(p, str) or not p or "\0" in p:
            raise SpecError(key, f"must be a directory path, got {p!r}")
        full = (base / _expand(key, p)).resolve()
        try:
            found = full.is_dir()
        except OSError as e:  # a name too long for the file system, ...
            raise SpecError(key, f"not a usable directory path: {e.strerror}: {full}") from None
        if not found:
            raise SpecError(key, f"no such directory: {full}")
        out.append(str(full))
    return tuple(out)


def _benchmark(value: Any, base: Path) -> tuple[dict[str, Any], Any]:
    """``benchmark``: a name or ``{name, params}``, built to check it. A ``path`` parameter
    (``curve-table``'s table file) is relative to the spec's directory, as ``path`` is, and is
    kept absolute, so ``rung resume`` finds the file from any directory."""
    from rung.benchmarks import BENCHMARKS, benchmark_from_json

    if value is None:
        raise SpecError("spec.benchmark", f"missing: the simulated executor needs a benchmark "
                        f"(one of {', '.join(BENCHMARKS)})")
    data: Any = {"name": value, "params": {}} if isinstance(value, str) else value
    if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
        raise SpecError("spec.benchmark", f"must be a name or {{name: ..., params: {{...}}}}, "
                        f"got {value!r}")
    extra = set(data) - {"name", "params"}
    if extra:
        raise SpecError(f"spec.benchmark.{sorted(extra, key=str)[0]}",
                        "unknown key (use name and params)")
    if data["name"] not in BENCHMARKS:
        raise SpecError("spec.benchmark.name",
                        f"unknown benchmark {data['name']!r}{close_hint(data['name'], BENCHMARKS)}"
                        f" (one of {', '.join(BENCHMARKS)})")
    params = data.get("params")
    if isinstance(params, Mapping) and isinstance(params.get("path"), str) and params["path"]:
        where = "spec.benchmark.params.path"
        if "\0" in params["path"]:
            raise SpecError(where, f"must be a file path, got {params['path']!r}")
        full = (base / _expand(where, params["path"])).resolve()
        data = {**data, "params": {**params, "path": str(full)}}
    try:
        bench = benchmark_from_json(data)
    except ConfigError as e:  # key "<benchmark>.<param>" -> spec.benchmark.params.<param>
        prefix = f"{data['name']}."
        field = e.key[len(prefix):] if e.key and e.key.startswith(prefix) else ""
        key = f"spec.benchmark.params.{field}" if field else "spec.benchmark.params"
        raise SpecError(key, as_spec_error(e).message) from None
    return {"name": data["name"], "params": dict(data.get("params") or {})}, bench


def _space(value: Any) -> SearchSpace:
    """``space``: checked by ``SearchSpace`` itself, whose errors carry the parameter's key."""
    if value is None:
        raise SpecError("spec.space", "missing (the parameters to search, e.g. "
                        "lr: {type: float, low: 1.0e-4, high: 0.1, log: true})")
    space: SearchSpace = wrap(lambda: SearchSpace(value))
    counts = space.values_per_param()
    if counts is not None and all(n == 1 for n in counts.values()):
        raise SpecError("spec.space", "nothing to search: every parameter has one value, so "
                        "every trial would run the same configuration (give a range, or a "
                        "list of two or more choices)")
    return space


__all__ = [
    "CLI_KEY",
    "EXECUTORS",
    "RunSpec",
    "SpecError",
    "check_name",
    "check_workers",
    "load_benchmark",
    "load_spec",
    "parse_spec",
    "resolve_objective",
    "spec_from_journal",
]
