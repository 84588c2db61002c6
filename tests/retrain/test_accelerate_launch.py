"""`playground retrain` under a multi-process launcher (docs/RETRAIN.md, "Several GPUs").

- `accelerate launch` with the documented one-process CPU config runs the ordinary retrain;
- two processes (torchrun, which `accelerate launch --multi_gpu` uses underneath; gloo on the CPU)
  train together, and only the main process writes: one run, one version, one report, one outcome.
Both on the real embedded text model with two training steps.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from feedback_db.schema import ModelVersion, TrainingRun
from playground.core.database import open_database
from playground.core.settings import Settings
from tests.launch import free_port
from tests.retrain.seed import seed_length_preference

pytestmark = pytest.mark.real_model
REPO = Path(__file__).resolve().parents[2]
QUICK_ARGS = ["retrain", "--modality", "text", "--max-steps", "2", "--min-examples", "4", "--eval-prompts", "0", "--no-personal"]
VERDICTS = ("promoted", "insufficient-evidence", "rejected")


@pytest.fixture
def seeded(tmp_path, model_cache_dir, real_text_generator) -> Settings:
    settings = Settings(data_dir=tmp_path / "data", device="cpu", model_cache=model_cache_dir)
    database = open_database(settings)
    seed_length_preference(database, prompts=30)
    database.engine.dispose()
    return settings


def run_launched(launcher: list[str], settings: Settings) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PLAYGROUND_MODEL_CACHE": str(settings.model_cache_dir),
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, *launcher, "-m", "playground", "--data-dir", str(settings.data_dir), *QUICK_ARGS]
    # A session of its own: on a timeout the launcher AND the processes it started are stopped.
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO, start_new_session=True
    )
    try:
        stdout, stderr = process.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise AssertionError(f"{command} did not finish in 600 s:\n{stderr[-3000:]}") from None
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def published(settings: Settings) -> tuple[list[str], list[str]]:
    database = open_database(settings)
    with database.read_sessions() as session:
        runs = [r.status for r in session.scalars(select(TrainingRun))]
        versions = [v.name for v in session.scalars(select(ModelVersion))]
    database.engine.dispose()
    return runs, versions


def outcome_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("[text] ") and not line.startswith("[text] report")]


@pytest.mark.long
def test_accelerate_launch_with_the_documented_cpu_config_retrains(seeded):
    result = run_launched(["-m", "accelerate.commands.launch", "--config_file", "docs/accelerate/cpu.yaml"], seeded)

    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = outcome_lines(result.stdout)
    assert line.split(":")[0].removeprefix("[text] ") in VERDICTS and "text-v1" in line, line
    assert published(seeded) == (["succeeded"], ["text-v1"])
    assert (seeded.adapters_dir / "text-v1" / "adapter_config.json").is_file()


@pytest.mark.long
def test_two_processes_train_together_and_only_the_main_one_publishes(seeded):
    result = run_launched(["-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port())], seeded)

    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = outcome_lines(result.stdout)  # one outcome: the other process printed nothing
    assert "text-v1" in line, line
    assert published(seeded) == (["succeeded"], ["text-v1"])
    assert sorted(p.name for p in seeded.adapters_dir.iterdir()) == ["text-v1"]
    assert len(list(seeded.reports_dir.glob("*.md"))) == 1
    assert result.stderr.count("Tokenizing train dataset: 100%") == 2  # both processes trained


def test_eval_prompts_must_not_be_negative(capsys):
    from playground.cli.main import main

    assert main(["retrain", "--eval-prompts", "-1"]) == 1
    assert "error: --eval-prompts must be 0 or more" in capsys.readouterr().err


@pytest.mark.parametrize("budget", ["0", "-5", "nan"])
def test_the_sampling_budget_must_be_positive(capsys, budget):
    from playground.cli.main import main

    assert main(["retrain", "--sampling-budget", budget]) == 1
    assert "error: --sampling-budget must be more than 0 seconds" in capsys.readouterr().err


def test_the_image_target_sets_the_cli_offers_are_the_trainers(capsys):
    from models.finetune.image import TARGETS
    from playground.cli.main import main
    from playground.cli.retrain import IMAGE_TARGET_SETS

    assert set(IMAGE_TARGET_SETS) == set(TARGETS)
    with pytest.raises(SystemExit):
        main(["retrain", "--image-targets", "everything"])
    assert "invalid choice: 'everything'" in capsys.readouterr().err
