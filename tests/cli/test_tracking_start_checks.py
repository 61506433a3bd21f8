"""What makes a tracker fail at its start, and can be known without side effects, is refused
by the spec's tracking check: one line naming the option (``spec.tracking.wandb.mode``,
``spec.tracking.tensorboard.logdir``), exit code 2, no journal written. Before, W&B's online
mode without an API key and a TensorBoard ``logdir`` under ``/proc`` passed the check: the run
created the study, then failed at its start (exit 1), and the failure was permanent (the stored
study kept the tracking that cannot start; fixing the spec was "another study")."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from clihelp import files_under, sim_spec, write_spec

from rung.cli.main import main
from rung.integrations._paths import dir_problem, fs_type
from rung.integrations._tracking import TrackerError, check_trackers

needs = {m: pytest.mark.skipif(importlib.util.find_spec(m) is None, reason=f"needs {m}")
         for m in ("wandb", "tensorboardX")}
on_procfs = pytest.mark.skipif(fs_type("/proc") != "proc", reason="needs Linux's /proc")

NO_KEY = ("online mode needs a W&B API key and none is configured (run `wandb login`, set "
          "WANDB_API_KEY, or use mode offline: runs are kept under <dir>/wandb and uploaded "
          "later by `wandb sync`)")


@pytest.fixture
def no_wandb_key(tmp_path_factory: pytest.TempPathFactory,
                 monkeypatch: pytest.MonkeyPatch) -> None:
    """No W&B credentials anywhere: no key in the environment, no ``.netrc``."""
    for var in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_MODE", "WANDB_DISABLED"):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NETRC", str(home / ".netrc"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(home / "wandb-config"))


@needs["wandb"]
def test_wandb_online_without_an_api_key_is_refused_before_anything_is_written(
    isolated: Path, no_wandb_key: None, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(isolated, sim_spec("bad", 3, "tracking: {wandb: {project: bad, mode: online, "
                                            "dir: wb}}\n"))
    assert main(["run", "spec.yaml", "--no-live"]) == 2
    assert capsys.readouterr().err == (
        "rung: error: spec.tracking.wandb.mode: WandbCallback(project='bad', dir='wb', "
        f"mode='online') cannot start: {NO_KEY}\n")
    assert files_under(isolated) == {"spec.yaml"}  # no journal: fix the spec, run it again
    write_spec(isolated, sim_spec("bad", 3, "tracking: {wandb: {project: bad, mode: offline, "
                                            "dir: wb}}\n"))
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    assert (isolated / "runs" / "bad.db").is_file()


@needs["wandb"]
def test_wandb_check_knows_when_a_key_is_configured_or_not_needed(
    no_wandb_key: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rung.integrations.wandb import WandbCallback

    with pytest.raises(TrackerError) as e:
        check_trackers([WandbCallback(mode="online")], "s")
    assert str(e.value) == f"WandbCallback(mode='online') cannot start: {NO_KEY}"
    assert e.value.option == "mode"
    check_trackers([WandbCallback(mode="offline")], "s")
    check_trackers([WandbCallback(mode="disabled")], "s")
    monkeypatch.setenv("WANDB_MODE", "offline")  # the mode W&B takes when none is given
    check_trackers([WandbCallback()], "s")
    with pytest.raises(TrackerError, match="online mode needs a W&B API key"):
        check_trackers([WandbCallback(mode="online")], "s")  # given: it wins
    monkeypatch.setenv("WANDB_API_KEY", "0123456789abcdef0123456789abcdef01234567")
    check_trackers([WandbCallback(mode="online")], "s")  # a key: not verified (no network)


@needs["tensorboardX"]
@on_procfs
def test_a_tensorboard_logdir_under_proc_is_refused_before_anything_is_written(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(isolated, sim_spec("tb", 3, "tracking: {tensorboard: {logdir: /proc/rung/tb}}\n"))
    assert main(["run", "spec.yaml", "--no-live"]) == 2
    assert capsys.readouterr().err == (
        "rung: error: spec.tracking.tensorboard.logdir: TensorBoardCallback(logdir="
        "'/proc/rung/tb') cannot start: cannot create directories under /proc: it is on a "
        "proc file system\n")
    assert files_under(isolated) == {"spec.yaml"}


@on_procfs
def test_dir_problem_sees_kernel_file_systems_whoever_runs_it(tmp_path: Path) -> None:
    assert dir_problem("/proc/rung/tb") == ("cannot create directories under /proc: it is on "
                                            "a proc file system")
    assert dir_problem("/proc") == "cannot create directories under /proc: it is on a proc " \
                                   "file system"
    assert dir_problem(tmp_path / "new" / "tb") is None
    assert not (tmp_path / "new").exists()


def test_fs_type_takes_the_longest_mount_point(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(
        "22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        "23 22 0:22 / /proc rw,nosuid - proc proc rw\n"
        "24 22 0:23 / /mnt/my\\040disk rw - xfs /dev/sdb1 rw\n"
        "25 22 0:24 / /pro rw - tmpfs tmpfs rw\n"
    )
    assert fs_type("/proc/rung", str(info)) == "proc"
    assert fs_type("/mnt/my disk/a", str(info)) == "xfs"
    assert fs_type("/procs", str(info)) == "ext4"  # /proc is not a prefix of /procs
    assert fs_type("/pro/x", str(info)) == "tmpfs"
    assert fs_type("/x", str(tmp_path / "none")) is None
