"""The one-line machine description every benchmark prints next to its figures."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe_machine() -> str:
    """CPU model, cores, torch threads, GPU (if any) and load: what a reader needs to compare runs."""
    import torch

    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:  # not Linux
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{cpu}, {os.cpu_count()} cores, {gpu}, torch {torch.__version__} with {torch.get_num_threads()} threads, load average {load}"


def unthrottled_env(database: Path | str, data_dir: Path, cache_dir: Path) -> dict[str, str]:
    """A server's environment on a SQLite file (or a database URL), with the per-client and
    per-address generation limits and the queue size out of the benchmark's way."""
    from tests.replicas.servers import replica_env

    return replica_env(
        database if isinstance(database, str) else f"sqlite:///{database}",
        data_dir,
        cache_dir,
        PLAYGROUND_GENERATIONS_PER_CLIENT="100000",
        PLAYGROUND_GENERATIONS_PER_IP="100000",
        PLAYGROUND_MAX_QUEUE_SIZE="1000",
    )
