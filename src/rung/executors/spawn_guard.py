"""The missing ``if __name__ == "__main__":`` guard, told in one message.

Spawned worker processes import the script that started them (as ``__mp_main__``) before they
run anything. A script that starts a study at module level, without the guard, therefore
starts it again in every worker, where multiprocessing refuses to start processes: each worker
prints a long traceback and dies, and the run fails with "worker processes in a row died".

``exit_if_reimported`` is called where rung starts or opens a study (``Study.create`` /
``load`` / ``run``): in a worker still importing the script it ends the process at once and
silently, with ``EXIT_NO_MAIN_GUARD``; the driver recognises that exit code and raises one
error naming the fix (``no_main_guard_message``).
"""

from __future__ import annotations

import multiprocessing
import os
import sys

#: exit code of a worker that found itself re-running a script without the guard
EXIT_NO_MAIN_GUARD = 86


def reimported() -> bool:
    """True in a spawned (or forkserver) worker process while it imports the parent's main
    script: multiprocessing sets ``_inheriting`` on the current process exactly then."""
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))


def exit_if_reimported() -> None:
    """End this process (quietly, ``EXIT_NO_MAIN_GUARD``) if it is a worker re-running the
    main script's study code; the driver reports it once."""
    if reimported():
        sys.stdout.flush()
        os._exit(EXIT_NO_MAIN_GUARD)


def no_main_guard_message() -> str:
    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None) or "your script"
    return (
        f"{script} starts the study when it is imported, and worker processes (spawn) import "
        "it again: put the code that runs the study under `if __name__ == \"__main__\":` "
        "(or define the objective in a module of its own)"
    )


__all__ = ["EXIT_NO_MAIN_GUARD", "exit_if_reimported", "no_main_guard_message", "reimported"]
