"""Cost of ``import rung``: what every spawned worker process pays before its first trial.

Runs ``python -X importtime -c "import rung"`` ``--repeat`` times in fresh processes and reports
the best and median cumulative time of the ``rung`` package, the modules it loaded (is SciPy
among them?), and the same for a baseline revision checked out in a temporary git worktree
(``--baseline REV``), interleaved run by run so both see the same machine load.

Usage::

    python benchmarks/bench_import.py --baseline 344478a        # before/after issue 13's split
    python benchmarks/bench_import.py --no-write                # print only
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = "import rung, sys; print('SCIPY' if 'scipy' in sys.modules else 'NOSCIPY')"


def one_import(src: Path) -> tuple[float, bool]:
    """Seconds ``import rung`` took (cumulative, from -X importtime) and whether SciPy loaded."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", PROBE],
        capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(), check=True,
    )
    total = None
    for line in out.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == "rung":
            total = int(parts[1]) / 1e6
    if total is None:
        raise RuntimeError(f"no 'rung' line in -X importtime output from {src}")
    return total, "NOSCIPY" not in out.stdout


def measure(srcs: dict[str, Path], repeat: int) -> dict[str, tuple[list[float], bool]]:
    times: dict[str, list[float]] = {k: [] for k in srcs}
    scipy: dict[str, bool] = {}
    for _ in range(repeat):
        for label, src in srcs.items():
            t, s = one_import(src)
            times[label].append(t)
            scipy[label] = s
    return {k: (times[k], scipy[k]) for k in srcs}


def report(results: dict[str, tuple[list[float], bool]], command: str) -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        "## bench_import",
        "",
        f"- command: `{command}`",
        f"- machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}; load average before the run: {load}",
        f"- date: {datetime.date.today().isoformat()}",
        "",
        "`python -X importtime -c \"import rung\"` in fresh processes, interleaved; cumulative "
        "time of the `rung` package (numpy's own import included).",
        "",
        "| tree | runs | best s | median s | SciPy loaded |",
        "|---|---|---|---|---|",
    ]
    for label, (ts, scipy) in results.items():
        lines.append(
            f"| {label} | {len(ts)} | {min(ts):.3f} | {statistics.median(ts):.3f} | "
            f"{'yes' if scipy else 'no'} |"
        )
    head = results.get("HEAD")
    if head is not None:
        verdict = "met" if min(head[0]) < 0.15 and not head[1] else "not met"
        lines += ["", f"Goal: `import rung` < 0.15 s without SciPy -> {verdict} "
                      f"({min(head[0]):.3f} s best)."]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    path = ROOT / "benchmarks" / "RESULTS.md"
    doc = path.read_text()
    start = doc.find("## bench_import\n")
    if start < 0:
        doc = doc.rstrip("\n") + "\n\n" + text
    else:
        end = doc.find("\n## ", start + 1)
        doc = doc[:start] + text + ("" if end < 0 else doc[end + 1:])
    path.write_text(doc)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--baseline", help="a git revision to measure side by side")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    srcs = {"HEAD": ROOT / "src"}
    with tempfile.TemporaryDirectory() as tmp:
        if args.baseline:
            wt = Path(tmp) / "baseline"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(wt),
                            args.baseline], check=True, capture_output=True)
            srcs = {f"baseline {args.baseline}": wt / "src", **srcs}
        try:
            results = measure(srcs, args.repeat)
        finally:
            if args.baseline:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                str(Path(tmp) / "baseline")], check=False, capture_output=True)
    command = "python benchmarks/bench_import.py " + " ".join(argv or sys.argv[1:])
    text = report(results, command.strip())
    print(text)
    if not args.no_write:
        write_section(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
