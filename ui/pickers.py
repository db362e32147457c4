"""Provider and model pickers for one capability, wired to the registry."""

from __future__ import annotations

import logging

import gradio as gr

from providers import Capability, Provider, Registry

logger = logging.getLogger(__name__)


def provider_choice_label(provider: Provider) -> str:
    status = provider.status()
    if not status.working:
        return f"{provider.label} (not working)"
    if not status.configured:
        return f"{provider.label} (not configured)"
    if status.needs_auth:
        return f"{provider.label} (sign-in)"
    return provider.label


def provider_choices(registry: Registry, capability: Capability) -> list[tuple[str, str]]:
    return [(provider_choice_label(p), p.id) for p in registry.for_capability(capability)]


def model_dropdown_update(provider: Provider, capability: Capability, models: list[str],
                          selected: str | None = None) -> dict:
    default = provider.default_model(capability)
    value = selected if selected and (selected in models or provider.accepts_any_model) else default
    if value and value not in models:
        models = [value, *models]
    return gr.update(choices=models, value=value, allow_custom_value=provider.accepts_any_model,
                     info=provider.note or None)


class ModelPicker:
    """A provider dropdown and a model dropdown that follows it."""

    def __init__(self, registry: Registry, capability: Capability, *, scale: int = 1) -> None:
        self.registry = registry
        self.capability = capability
        default = registry.default_for(capability)
        models = default.model_list(capability) if default else []
        self.provider = gr.Dropdown(
            label="Provider", choices=provider_choices(registry, capability),
            value=default.id if default else None, interactive=True, scale=scale,
        )
        self.model = gr.Dropdown(
            label="Model", choices=models,
            value=default.default_model(capability) if default else None,
            allow_custom_value=bool(default and default.accepts_any_model),
            interactive=True, scale=scale * 2,
            info=(default.note or None) if default else None,
        )
        self.provider.change(self.refresh_models, inputs=[self.provider], outputs=[self.model],
                             api_visibility="private", show_progress="hidden", queue=False)

    async def refresh_models(self, provider_id: str) -> dict:
        """Models for the chosen provider: discovered lazily, falling back to the built-in list."""
        try:
            provider = self.registry.get(provider_id)
        except Exception:
            return gr.update(choices=[], value=None)
        try:
            models = await provider.list_models(self.capability)
        except Exception:
            logger.warning("Listing models of %s failed; using the built-in list", provider.label)
            models = provider.model_list(self.capability)
        return model_dropdown_update(provider, self.capability, models)
