"""Every setting the providers and the core read, typed and documented in one place.

Each group is a frozen dataclass whose fields name their environment variable, default,
lower bound and meaning (`setting(...)`). `Group.current()` parses the environment once
and reuses the result until one of the group's variables changes, so a request never
parses settings again, and an operator or a test that changes the environment is still
heard. A value that cannot be parsed is logged and the default used; one below its lower
bound is raised to it. The README's configuration table lists every variable declared here
(a test keeps the two in step).
"""

from __future__ import annotations

import dataclasses
import os
import threading
from typing import Any, ClassVar, TypeVar

from .config import env_bool, env_float, env_int, env_list, env_str

G = TypeVar("G", bound="SettingsGroup")


def setting(env: str, default: Any, doc: str, *, minimum: float | None = None) -> Any:
    """A dataclass field read from the environment variable `env`."""
    return dataclasses.field(default=default, metadata={"env": env, "doc": doc, "minimum": minimum})


def _read(field: dataclasses.Field) -> Any:
    name, default, minimum = field.metadata["env"], field.default, field.metadata["minimum"]
    if isinstance(default, bool):
        return env_bool(name, default)
    if isinstance(default, int):
        return env_int(name, default, minimum=None if minimum is None else int(minimum))
    if isinstance(default, float):
        return env_float(name, default, minimum=minimum)
    if isinstance(default, tuple):
        return tuple(env_list(name, default))
    return env_str(name, default)


class SettingsGroup:
    """Base of the settings groups: `current()` is the parsed environment, cached until it changes."""

    _cache: ClassVar[dict[type, tuple[tuple[str | None, ...], Any]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def variables(cls) -> list[dataclasses.Field]:
        return [f for f in dataclasses.fields(cls) if "env" in f.metadata]  # type: ignore[arg-type]

    @classmethod
    def current(cls: type[G]) -> G:
        fields = cls.variables()
        snapshot = tuple(os.environ.get(f.metadata["env"]) for f in fields)
        cached = SettingsGroup._cache.get(cls)
        if cached is not None and cached[0] == snapshot:
            return cached[1]
        value = cls(**{f.name: _read(f) for f in fields})
        with SettingsGroup._lock:
            SettingsGroup._cache[cls] = (snapshot, value)
        return value


@dataclasses.dataclass(frozen=True)
class HttpSettings(SettingsGroup):
    """Every HTTP adapter."""

    connect_timeout: float = setting("PROVIDER_CONNECT_TIMEOUT", 10.0, "Seconds to connect to a provider.",
                                     minimum=0.1)
    read_timeout: float = setting("PROVIDER_READ_TIMEOUT", 60.0,
                                  "Seconds a provider may stay silent while answering.", minimum=0.1)
    model_cache_max_entries: int = setting("MODEL_CACHE_MAX_ENTRIES", 1024,
                                           "Model lists and metadata kept per cache (the least used go first).",
                                           minimum=16)


@dataclasses.dataclass(frozen=True)
class HuggingFaceSettings(SettingsGroup):
    """Hugging Face inference: the router or a self-hosted server, and the Hub."""

    base_url: str = setting("HF_INFERENCE_BASE_URL", "",
                            "A self-hosted server (TGI, vLLM…) used instead of the router.")
    router_url: str = setting("HF_ROUTER_URL", "https://router.huggingface.co", "The Inference Providers router.")
    provider: str = setting("HF_INFERENCE_PROVIDER", "auto",
                            "The router's provider policy or name, sent as a model suffix.")
    api: str = setting("HF_INFERENCE_API", "chat", "`chat` (chat completions) or `text-generation` (raw prompts).")
    api_key: str = setting("HF_INFERENCE_API_KEY", "", "The key a self-hosted server expects.")
    timeout: float = setting("HF_INFERENCE_TIMEOUT", 0.0,
                             "Seconds for one inference call (0: PROVIDER_READ_TIMEOUT).", minimum=0.0)
    loading_max_wait: float = setting("HF_LOADING_MAX_WAIT", 120.0,
                                      "Seconds to wait in all for a model that is still loading.", minimum=0.0)
    client_pool_size: int = setting("HF_CLIENT_POOL_SIZE", 32, "InferenceClients kept for reuse.", minimum=1)
    hub_url: str = setting("HF_ENDPOINT", "https://huggingface.co", "The Hub (model lists and metadata).")
    hub_timeout: float = setting("HF_HUB_API_TIMEOUT", 5.0, "Seconds for a Hub or model-list look-up.",
                                 minimum=0.1)
    models_ttl: float = setting("HF_MODELS_TTL", 3600.0, "Seconds a Hub model list is kept.", minimum=1.0)


@dataclasses.dataclass(frozen=True)
class OpenAICompatSettings(SettingsGroup):
    """An OpenAI-compatible server (vLLM, llama.cpp, Ollama, TGI…)."""

    base_url: str = setting("OPENAI_COMPAT_BASE_URL", "", "The server's base URL (…/v1); unset hides the provider.")
    api_key: str = setting("OPENAI_COMPAT_API_KEY", "", "The server's key, if it needs one.")
    models: tuple[str, ...] = setting("OPENAI_COMPAT_MODELS", (), "Models to offer when the server does not list them.")
    vision_model: str = setting("OPENAI_COMPAT_VISION_MODEL", "Qwen/Qwen2.5-VL-7B-Instruct",
                                "Vision chat's default model; absent from the server's list, a listed vision model.")
    models_ttl: float = setting("OPENAI_COMPAT_MODELS_TTL", 300.0, "Seconds the server's model list is kept.",
                                minimum=1.0)


@dataclasses.dataclass(frozen=True)
class SpacesSettings(SettingsGroup):
    """Gradio Spaces (Phi-4, FLUX)."""

    timeout: float = setting("SPACES_TIMEOUT", 180.0, "Seconds one Space call may take in all.", minimum=1.0)
    check_timeout: float = setting("SPACES_CHECK_TIMEOUT", 15.0,
                                   "Seconds a Space's status check may take.", minimum=0.1)


@dataclasses.dataclass(frozen=True)
class ChatUiSettings(SettingsGroup):
    """HuggingChat and H2o (the chat-ui family)."""

    huggingchat_url: str = setting("HUGGINGCHAT_URL", "https://huggingface.co/chat",
                                   "Base URL of the HuggingChat (chat-ui) server.")
    h2o_models: tuple[str, ...] = setting("H2O_MODELS", (), "Models H2o offers (the first is the default).")
    h2o_delete_timeout: float = setting("H2O_DELETE_TIMEOUT", 5.0,
                                        "Seconds allowed for deleting the H2o conversation after a turn.",
                                        minimum=0.1)


@dataclasses.dataclass(frozen=True)
class AccessSettings(SettingsGroup):
    """Where credentials may go and whether the operator's serve everyone (see `credentials`)."""

    space_id: str = setting("SPACE_ID", "", "Set by Hugging Face Spaces: the app runs as a public Space.")
    allow_shared_credentials: bool = setting("ALLOW_SHARED_CREDENTIALS", False,
                                             "Let a public Space use the operator's credentials for everyone.")
    hf_trusted_hosts: tuple[str, ...] = setting("HF_TRUSTED_HOSTS", (),
                                                "Extra host names allowed to receive Hugging Face tokens.")


@dataclasses.dataclass(frozen=True)
class MediaSettings(SettingsGroup):
    """Incoming images and the pool that decodes them."""

    max_side: int = setting("IMAGE_MAX_SIDE", 1280, "Images are downscaled to at most this longest side.",
                            minimum=64)
    max_bytes: int = setting("IMAGE_MAX_BYTES", 400_000, "Re-encoded images are at most this many bytes.",
                             minimum=20_000)
    max_pixels: int = setting("IMAGE_MAX_PIXELS", 50_000_000, "Larger images are refused.", minimum=1_000_000)
    max_file_bytes: int = setting("IMAGE_MAX_FILE_BYTES", 25_000_000, "Larger image files are refused.",
                                  minimum=100_000)
    max_per_message: int = setting("IMAGE_MAX_PER_MESSAGE", 8, "Most images in one message.", minimum=1)
    workers: int = setting("IMAGE_WORKERS", 2, "Threads per process for image decoding and encoding.", minimum=1)


@dataclasses.dataclass(frozen=True)
class RegistrySettings(SettingsGroup):
    """Which providers are listed, and which Auto tries."""

    extra_providers: tuple[str, ...] = setting("PLAYGROUND_EXTRA_PROVIDERS", (),
                                               "Extra adapters to load, as module:Class.")
    providers: tuple[str, ...] = setting("PLAYGROUND_PROVIDERS", (), "Provider ids to show, in order (all if unset).")
    auto_providers: tuple[str, ...] = setting("AUTO_PROVIDERS", (), "Provider ids Auto tries, in order.")


@dataclasses.dataclass(frozen=True)
class ArenaSettings(SettingsGroup):
    """The blind arena."""

    database_url: str = setting("ARENA_DATABASE_URL", "", "Votes database (SQLAlchemy URL); SQLite under /data "
                                "or ./data if unset.")
    votes_path: str = setting("ARENA_VOTES_PATH", "./data/arena_votes.jsonl",
                              "JSON-lines votes file of earlier versions, imported once.")
    refresh_seconds: float = setting("ARENA_REFRESH_SECONDS", 2.0, "How often each process reads new votes and "
                                     "refits the leaderboard.", minimum=0.1)
    bootstrap_rounds: int = setting("ARENA_BOOTSTRAP_ROUNDS", 200, "Bootstrap rounds of the ratings' 95% "
                                    "intervals.", minimum=0)
    battles_per_hour: int = setting("ARENA_BATTLES_PER_HOUR", 60, "Battles one visitor may start per hour.",
                                    minimum=0)
    votes_per_hour: int = setting("ARENA_VOTES_PER_HOUR", 60, "Votes one visitor may cast per hour.", minimum=0)


@dataclasses.dataclass(frozen=True)
class LogSettings(SettingsGroup):
    level: str = setting("LOG_LEVEL", "INFO", "Logging level.")


#: Every group, for documentation and the README check.
GROUPS: tuple[type[SettingsGroup], ...] = (
    HttpSettings, HuggingFaceSettings, OpenAICompatSettings, SpacesSettings, ChatUiSettings, AccessSettings,
    MediaSettings, RegistrySettings, ArenaSettings, LogSettings,
)
