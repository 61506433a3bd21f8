"""``rung show`` of a study a driver is running: its running trials are running, so it does
not tell the user they were left behind by a stopped driver and to ``rung resume`` them; once
the driver is gone, it does."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from contextlib import redirect_stdout
from pathlib import Path

from rung.cli.main import main

WRITER = textwrap.dedent("""
    import sys
    import rung
    s = rung.Study.create("live", {"x": rung.Float(0, 1)}, searcher="random",
                          scheduler="fifo", max_step=5, budget=rung.Budget(n_trials=4),
                          seed=0, storage=sys.argv[1])
    for _ in range(2):
        t = s.ask()
        s.report(t.id, 1, {"loss": t.params["x"]})
    print("ready", flush=True)
    sys.stdin.read()  # holds the study (its writer lock) until the test closes stdin
""")


def _show(db: Path) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["show", "live", "--storage", str(db)]) == 0
    return out.getvalue()


def test_show_of_a_live_study_does_not_say_resume(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    w = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        assert w.stdout is not None and w.stdout.readline() == "ready\n"
        text = _show(db)
        assert "trials     2: running 2," in text
        assert "rung resume" not in text and "when the driver stopped" not in text
        assert text.rstrip().endswith("(a driver is running this study right now: this is a "
                                      "snapshot)")
    finally:
        assert w.stdin is not None
        w.stdin.close()
        w.wait(timeout=30)
    text = _show(db)  # the driver is gone: its two trials were left running
    # (asked from Python: go on from Python by report / tell, `rung resume` having no
    # objective on record; before, the advice was to run the study)
    assert ("  note: 2 trial(s) asked (Study.ask) and never told: #0, #1; go on with them "
            f"from Python, Study.load('live', storage={str(db)!r}), then report / tell them "
            "by id (tell(id) ends one as its scheduler decided, else completed; tell(id, "
            "'interrupted') one that cannot go on)") in text.splitlines()
