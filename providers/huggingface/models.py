"""Model discovery and metadata from the Hugging Face Hub API (`HF_ENDPOINT`).

Lists and metadata are fetched lazily with a short timeout, cached with a
time-to-live, and fall back to built-in values; nothing runs at import or
start-up. Hub calls carry no token: they read public information only.

Which Inference Providers serve a model comes from
`GET /api/models/{id}?expand=inferenceProviderMapping` (the call huggingface_hub
makes for its own routing): a mapping `{provider: {"status", "providerId", "task"}}`
(list endpoints answer a list of objects with a `provider` key instead).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx

from ..cache import TTLCache
from ..errors import ProviderError
from ..http import request_json
from ..settings import HuggingFaceSettings

logger = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"


def hub_endpoint() -> str:
    return (HuggingFaceSettings.current().hub_url or DEFAULT_ENDPOINT).rstrip("/")


@dataclass(frozen=True)
class ListQuery:
    """One Hub listing: its query parameters and the trending score a model needs to be kept."""

    params: tuple[tuple[str, str], ...]
    min_trending: float = 0.0


@dataclass(frozen=True)
class ModelInfo:
    """What the adapter needs to know about one model; empty when the Hub does not know it."""

    model_id: str
    pipeline_tag: str = ""
    model_type: str = ""
    eos_token: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    has_chat_template: bool = False
    known: bool = False

    @property
    def is_chat_model(self) -> bool:
        """False only when the Hub says it is a plain text-generation model without a chat template."""
        if not self.known or self.pipeline_tag != "text-generation":
            return True
        return self.has_chat_template or "conversational" in self.tags


@dataclass(frozen=True)
class ServedBy:
    """One Inference Provider serving a model: its name, the task it serves it for, and its status."""

    provider: str
    task: str
    status: str = "live"


def parse_provider_mapping(data: object) -> tuple[ServedBy, ...]:
    """The providers of an `inferenceProviderMapping` (dict or list form); malformed entries are skipped."""
    mapping = data.get("inferenceProviderMapping") if isinstance(data, dict) else None
    if isinstance(mapping, dict):
        entries = [{**value, "provider": name} for name, value in mapping.items() if isinstance(value, dict)]
    elif isinstance(mapping, list):
        entries = [value for value in mapping if isinstance(value, dict)]
    else:
        entries = []
    return tuple(ServedBy(str(e["provider"]), str(e.get("task") or ""), str(e.get("status") or "live"))
                 for e in entries if e.get("provider"))


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(HuggingFaceSettings.current().hub_timeout)


class HubCatalog:
    """Cached Hub listings and per-model metadata."""

    def __init__(self, label: str) -> None:
        self.label = label
        ttl = HuggingFaceSettings.current().models_ttl
        self._lists: TTLCache[list[str]] = TTLCache(ttl)
        # Keyed by model ids visitors type: an id the Hub does not know is only a short negative entry.
        self._info: TTLCache[ModelInfo] = TTLCache(ttl, is_negative=lambda info: not info.known)
        self._served: TTLCache[tuple[ServedBy, ...] | None] = TTLCache(ttl, is_negative=lambda found: not found)

    async def models(self, query: ListQuery, fallback: list[str]) -> list[str]:
        """Ids from a Hub listing (filtered by trending score), or `fallback` when it fails or is empty."""
        endpoint = hub_endpoint()

        async def fetch() -> list[str]:
            data = await request_json(self.label, "GET", f"{endpoint}/api/models", params=list(query.params),
                                      timeout=_timeout())
            if not isinstance(data, list):
                raise ValueError("the model listing is not a list")
            ids = [str(m["id"]) for m in data if isinstance(m, dict) and m.get("id")
                   and float(m.get("trendingScore") or 0) >= query.min_trending]
            if not ids:
                raise ValueError("the model listing is empty")
            return ids

        return await self._lists.get((endpoint, query), fetch, fallback)

    async def info(self, model_id: str) -> ModelInfo:
        """Metadata of one model; an unknown (empty) ModelInfo when the Hub cannot say."""
        endpoint = hub_endpoint()
        unknown = ModelInfo(model_id)

        async def fetch() -> ModelInfo:
            try:
                data = await request_json(self.label, "GET", f"{endpoint}/api/models/{quote(model_id, safe='/')}",
                                          timeout=_timeout())
            except ProviderError as exc:
                if exc.status == 404:  # not a Hub model (e.g. a self-hosted name): a valid answer
                    return unknown
                raise
            return parse_model_info(model_id, data)

        return await self._info.get((endpoint, model_id), fetch, unknown)

    async def served_by(self, model_id: str) -> tuple[ServedBy, ...] | None:
        """The Inference Providers serving a Hub model id: empty when none does, None when the Hub cannot say."""
        endpoint = hub_endpoint()

        async def fetch() -> tuple[ServedBy, ...]:
            try:
                data = await request_json(self.label, "GET", f"{endpoint}/api/models/{quote(model_id, safe='/')}",
                                          params={"expand": "inferenceProviderMapping"}, timeout=_timeout())
            except ProviderError as exc:
                if exc.status == 404:  # not on the Hub: nobody serves it
                    return ()
                raise
            return parse_provider_mapping(data)

        return await self._served.get((endpoint, model_id), fetch, None)


def parse_model_info(model_id: str, data: object) -> ModelInfo:
    if not isinstance(data, dict):
        return ModelInfo(model_id)
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    tokenizer = config.get("tokenizer_config") if isinstance(config.get("tokenizer_config"), dict) else {}
    eos = tokenizer.get("eos_token") or ""
    if isinstance(eos, dict):  # some configs store an AddedToken object
        eos = eos.get("content") or ""
    tags = data.get("tags") if isinstance(data.get("tags"), list) else []
    return ModelInfo(
        model_id=model_id,
        pipeline_tag=str(data.get("pipeline_tag") or ""),
        model_type=str(config.get("model_type") or ""),
        eos_token=str(eos),
        tags=tuple(str(t) for t in tags),
        has_chat_template=bool(tokenizer.get("chat_template")),
        known=True,
    )
