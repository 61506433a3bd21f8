"""Read an offline W&B run back from its ``run-<id>.wandb`` file, with wandb's own protobuf
``Record`` (``wandb.proto.wandb_internal_pb2``).

wandb keeps no Python reader for these files since its core moved to Go, and its public API
(``wandb.Api``) needs the server. The file is the log format wandb has always written: a
7-byte header (``:W&B``, magic 0xBEE1, version), then 32 KiB blocks of chunks, each with a
7-byte header (CRC-32 of the type byte and the data, length, type: full / first / middle /
last); a record too long for a block is split into chunks.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wandb
from wandb.proto import wandb_internal_pb2

_BLOCK = 32 * 1024
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def records(path: Path) -> Iterator[Any]:
    """Every ``Record`` of a ``.wandb`` file, in order (checksums verified)."""
    data = path.read_bytes()
    ident, magic, version = struct.unpack("<4sHB", data[:7])
    assert (ident, magic, version) == (b":W&B", 0xBEE1, 0), (ident, magic, version)
    pos, parts = 7, b""
    while pos + 7 <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < 7:  # a block's tail too short for a chunk header is padding
            pos += left
            continue
        crc, n, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if (crc, n, kind) == (0, 0, 0):
            pos += 7
            continue
        chunk = data[pos + 7:pos + 7 + n]
        assert zlib.crc32(chunk, zlib.crc32(bytes([kind]))) == crc, f"bad checksum at {pos}"
        pos += 7 + n
        if kind == _FULL:
            whole = chunk
        elif kind == _FIRST:
            parts = chunk
            continue
        elif kind == _MIDDLE:
            parts += chunk
            continue
        else:
            assert kind == _LAST, kind
            whole, parts = parts + chunk, b""
        record = wandb_internal_pb2.Record()
        record.ParseFromString(whole)
        yield record


def _key(item: Any) -> str:
    return "/".join(item.nested_key) if item.nested_key else item.key


@dataclass
class OfflineRun:
    id: str
    name: str
    group: str
    job_type: str
    project: str
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    exit_code: int | None = None


def read_run(path: Path) -> OfflineRun:
    """An offline run from its ``.wandb`` file: config, history rows, summary, exit code."""
    run: OfflineRun | None = None
    for r in records(path):
        kind = r.WhichOneof("record_type")
        if kind == "run":
            run = OfflineRun(r.run.run_id, r.run.display_name, r.run.run_group,
                             r.run.job_type, r.run.project)
            for item in r.run.config.update:
                run.config[_key(item)] = json.loads(item.value_json)
        elif run is None:
            continue
        elif kind == "config":
            for item in r.config.update:
                run.config[_key(item)] = json.loads(item.value_json)
        elif kind == "history":
            run.history.append({_key(i): json.loads(i.value_json) for i in r.history.item})
        elif kind == "summary":
            for item in r.summary.update:
                run.summary[_key(item)] = json.loads(item.value_json)
        elif kind == "exit":
            run.exit_code = r.exit.exit_code
    assert run is not None, f"no run record in {path}"
    return run


def read_runs(root: Path) -> list[OfflineRun]:
    """Every offline run under ``root`` (W&B's ``dir``), in the order they were started, once
    wandb's service has written them out: a finished run's records may still be in the
    service's buffers (``wandb.teardown`` flushes them, as the process's exit does; without it
    the study run, finished last, was often a bare 7-byte header)."""
    wandb.teardown()
    files = sorted(root.glob("wandb/offline-run-*/run-*.wandb"))
    return [read_run(f) for f in files]


def offline(monkeypatch: Any, tmp_path: Path) -> None:
    """W&B offline and silent for one test, its config, cache and data under ``tmp_path``, no
    API key (``monkeypatch``: pytest's)."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    for var in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb-home"))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
