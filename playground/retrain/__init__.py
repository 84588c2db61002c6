"""`playground retrain`: turn feedback into a new model version, promoted only on evidence.

Modules, imported one way (`run` -> `personal` -> `candidate` -> `publish` -> `report`;
`run` -> `text`/`image` -> `trainers` -> `behaviour`):
- `run`: the stages and the lock;
- `candidate`: one candidate version read, trained, gated and published (global or personal);
- `personal`: the personal versions trained after each global run;
- `publish`: the promotion decision and the publishing transaction;
- `trainers`: options, version references, candidate naming, the shared gate and behaviour steps;
- `text`, `image`: how each modality trains, scores, samples and measures;
- `behaviour`: a rating scorer fitted on feedback, to compare both versions' answers;
- `report`: the Markdown and JSON report;
- `ranks`: under `accelerate launch` with several processes, what the main and the other processes do.
"""

from playground.retrain.candidate import RetrainOutcome
from playground.retrain.run import RetrainBusyError, retrain
from playground.retrain.trainers import RetrainOptions

__all__ = ["RetrainBusyError", "RetrainOptions", "RetrainOutcome", "retrain"]
