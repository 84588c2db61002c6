"""Retraining on several GPUs: which process of `accelerate launch` (or torchrun) this is, and
what each process may do.

`accelerate launch --num_processes N -m playground retrain` starts N copies of the command, one
per GPU. TRL trains on all of them (each on its own shard of the data; gradients are averaged),
but everything else is the main process's alone: the retrain lock, the runs table, the gate,
the report and the promotion. So the main process runs `playground retrain` as usual and, when it
reaches the text training step, sends that one job (datasets, adapter folder, parent version) to
the other processes; they train it with it and exit. They never open the database.

Only text training is shared: the image trainer is a plain PyTorch loop on one device (the
embedded image model trains in seconds), so it runs on the main process alone. A run with no
text training to do (skipped, dry run, `--modality image`) sends "nothing" and the others exit.

Started the ordinary way (one process), none of this is used: `SINGLE` passes everything through.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.base import Modality
from models.finetune.data import FeedbackDatasets
from playground.core.settings import Settings
from playground.retrain.trainers import VersionRef

SHARED_MODALITIES: frozenset[Modality] = frozenset({"text"})  # trained by every process


@dataclass(frozen=True)
class TrainJob:
    """What the other processes need to train along with the main one."""

    modality: Modality
    datasets: FeedbackDatasets
    out_dir: Path
    parent: VersionRef


class Ranks:
    """This process's place in a multi-process run (`accelerate.PartialState`)."""

    def __init__(self, state: Any = None):
        self._state = state  # None: a plain single-process run
        self._sent = False

    @property
    def distributed(self) -> bool:
        return self._state is not None and self._state.num_processes > 1

    @property
    def is_main(self) -> bool:
        return not self.distributed or self._state.is_main_process

    def settings_for_rank(self, settings: Settings) -> Settings:
        """Each process trains on its own GPU (`cuda:<local rank>`), not all of them on cuda:0."""
        if self.distributed and self._state.device.type == "cuda":
            return settings.model_copy(update={"device": str(self._state.device)})
        return settings

    def send(self, job: TrainJob | None) -> None:
        """Main process: give the others their job (None: nothing to train). Once per run; later
        calls do nothing, so `retrain` can always send None on its way out."""
        if not self.distributed or self._sent:
            return
        self._sent = True
        _broadcast(job)

    def receive(self) -> TrainJob | None:
        """Other processes: wait for the main process's job (None: nothing to train)."""
        return _broadcast(None)


def _broadcast(job: TrainJob | None) -> TrainJob | None:
    from accelerate.utils import broadcast_object_list

    box = [job]
    broadcast_object_list(box, from_process=0)
    return box[0]


def current_ranks() -> Ranks:
    """The process group `accelerate launch`/torchrun started (WORLD_SIZE > 1), or a single process."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return Ranks()
    import torch
    from accelerate import PartialState
    from accelerate.utils import parse_flag_from_env

    # CPU processes (`--cpu`, or no GPU) talk over gloo; PartialState only groups them when told.
    # The trainer's own Accelerator then finds the same, already initialised state.
    cpu = parse_flag_from_env("ACCELERATE_USE_CPU") or not torch.cuda.is_available()
    return Ranks(PartialState(cpu=cpu))
