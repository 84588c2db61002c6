"""Leaderboard categories: which battles a category leaderboard counts.

Each voted battle falls into one prompt-length bucket (by the prompt's length in characters) and,
once enough different prompts have votes, one topic: prompts are embedded with the shipped
all-MiniLM-L6-v2 encoder (models/text_embedding.py) and grouped with k-means (scikit-learn). A
topic is named by the words its prompts share most often (a word counts only when at least two of
its prompts use it, so one person's wording never names a topic).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

ALL = "all"
# Prompt length in characters: short < 60 <= medium < 250 <= long.
LENGTH_BUCKETS = (("short", 60), ("medium", 250), ("long", None))
MIN_TOPIC_PROMPTS = 10  # fewer different prompts than this: no topics
PROMPTS_PER_TOPIC = 15  # k = distinct prompts // this, between 2 and MAX_TOPICS
MAX_TOPICS = 8
TOPIC_WORDS = 3
_WORD = re.compile(r"[a-z][a-z'-]{2,}")

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Category:
    key: str  # "all", "length:short", "topic:2"
    label: str  # what the picker shows, e.g. "Short prompts, under 60 characters"
    votes: int  # voted battles in it (both kinds)


def length_bucket(prompt: str) -> str:
    size = len(prompt.strip())
    for name, below in LENGTH_BUCKETS:
        if below is None or size < below:
            return name
    raise AssertionError("the last bucket has no bound")


class TopicModel:
    """Topic clusters of prompts; vectors are cached per prompt text, so a refresh embeds only new prompts."""

    def __init__(self, embed: Embed) -> None:
        self._embed = embed
        self._vectors: dict[str, np.ndarray] = {}

    def vectors(self, prompts: Sequence[str]) -> np.ndarray:
        """One vector per prompt (a row each, in order), embedding only those not seen before."""
        new = [p for p in dict.fromkeys(prompts) if p not in self._vectors]
        if new:
            self._vectors.update(zip(new, self._embed(new), strict=True))
        return np.stack([self._vectors[p] for p in prompts])

    def topics(self, prompts: Sequence[str]) -> tuple[dict[str, int], dict[int, str]]:
        """prompt -> topic number, and topic number -> its name; empty under MIN_TOPIC_PROMPTS."""
        # 1. Distinct prompts, embedded once each.
        distinct = sorted(set(prompts))
        if len(distinct) < MIN_TOPIC_PROMPTS:
            return {}, {}
        vectors = self.vectors(distinct)
        # 2. k-means with a fixed seed: the same votes give the same topics.
        from sklearn.cluster import KMeans

        k = int(np.clip(len(distinct) // PROMPTS_PER_TOPIC, 2, MAX_TOPICS))
        labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(vectors)
        # 3. Topics numbered from the largest, named by their shared words.
        sizes = Counter(int(label) for label in labels)
        order = {label: number for number, (label, _) in enumerate(sizes.most_common(), start=1)}
        topic_of = {prompt: order[int(label)] for prompt, label in zip(distinct, labels, strict=True)}
        names = {order[label]: topic_name([p for p, lab in zip(distinct, labels, strict=True) if lab == label]) for label in sizes}
        return topic_of, names


def topic_name(prompts: Sequence[str]) -> str:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    # Each prompt's words once, in the order they appear (not a set: a set's order changes with the
    # interpreter's hash seed, and so would a name whose words tie on count).
    counts = Counter(word for prompt in prompts for word in dict.fromkeys(_WORD.findall(prompt.lower())) if word not in ENGLISH_STOP_WORDS)
    shared = [word for word, count in counts.most_common() if count >= 2][:TOPIC_WORDS]
    return ", ".join(shared) if shared else "mixed prompts"


def with_categories(battles: pd.DataFrame, topics: TopicModel | None) -> tuple[pd.DataFrame, dict[int, str]]:
    """`battles` with a `length` and a `topic` column (0 = no topic), and the topics' names."""
    frame = battles.copy()
    frame["length"] = [length_bucket(p) for p in frame["prompt"]] if len(frame) else pd.Series(dtype=str)
    topic_of, names = topics.topics(list(frame["prompt"])) if topics is not None and len(frame) else ({}, {})
    frame["topic"] = [topic_of.get(p, 0) for p in frame["prompt"]] if len(frame) else pd.Series(dtype=int)
    return frame, names


def categories(battles: pd.DataFrame, names: dict[int, str]) -> list[Category]:
    """The picker's choices, each with its vote count (`battles` from `with_categories`)."""
    choices = [Category(ALL, "All prompts", len(battles))]
    bounds = {"short": "under 60 characters", "medium": "60 to 249 characters", "long": "250 characters or more"}
    for name, _ in LENGTH_BUCKETS:
        votes = int((battles["length"] == name).sum()) if len(battles) else 0
        choices.append(Category(f"length:{name}", f"{name.capitalize()} prompts, {bounds[name]}", votes))
    for number, name in sorted(names.items()):
        choices.append(Category(f"topic:{number}", f"Topic {number}: {name}", int((battles["topic"] == number).sum())))
    return choices


def in_category(battles: pd.DataFrame, key: str) -> pd.DataFrame:
    """The battles of one category (`battles` from `with_categories`); an unknown key is an error."""
    if key == ALL:
        return battles
    kind, _, value = key.partition(":")
    if kind == "length" and value in {name for name, _ in LENGTH_BUCKETS}:
        return battles[battles["length"] == value]
    if kind == "topic" and value.isdigit():
        return battles[battles["topic"] == int(value)]
    raise ValueError(f"unknown leaderboard category {key!r}")
