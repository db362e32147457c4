"""Provider and model pickers for one capability, wired to the registry."""

from __future__ import annotations

import logging

import gradio as gr

from playground.status import provider_label, provider_state
from providers import Availability, Capability, PlaygroundError, Provider, Registry, Visitor

logger = logging.getLogger(__name__)


#: Providers that cannot answer this visitor whatever they do: listed apart, never offered as a choice.
UNAVAILABLE = frozenset({Availability.GONE, Availability.NOT_CONFIGURED})
#: The order of what can be picked: ready first, then what needs sign-in, then what did not answer lately.
_ORDER = (Availability.READY, Availability.NEEDS_SIGN_IN, Availability.UNREACHABLE)


def provider_choices(registry: Registry, capability: Capability,
                     visitor: Visitor | None = None) -> list[tuple[str, str]]:
    """(label, id) pairs of the providers `visitor` can pick, ready ones first; labels say when one is not
    ready (a provider that needs sign-in stays pickable: picking it shows what to do)."""
    states = [(p, provider_state(p, visitor).availability) for p in registry.for_capability(capability)]
    return [(provider_label(p, visitor), p.id) for wanted in _ORDER for p, state in states if state is wanted]


def unavailable_providers(registry: Registry, capability: Capability, visitor: Visitor | None = None) -> list[Provider]:
    """The providers offering `capability` that cannot be picked (gone, or not set up on this app)."""
    return [p for p in registry.for_capability(capability) if provider_state(p, visitor).availability in UNAVAILABLE]


def provider_info(registry: Registry, capability: Capability, visitor: Visitor | None = None) -> str | None:
    """The picker's note naming what cannot be picked: "Unavailable: H2o (not working), FlowGPT (not working)"."""
    unavailable = unavailable_providers(registry, capability, visitor)
    return "Unavailable: " + ", ".join(provider_label(p, visitor) for p in unavailable) if unavailable else None


def is_pickable(provider: Provider, visitor: Visitor | None = None) -> bool:
    return provider_state(provider, visitor).availability not in UNAVAILABLE


def model_dropdown_update(provider: Provider, capability: Capability, models: list[str],
                          selected: str | None = None) -> dict:
    default = provider.default_model(capability)
    if selected:
        selected = provider.aliases.get(selected, selected)
    typed_ok = bool(selected) and provider.accepts_any_model and provider.is_valid_model_id(selected)
    value = selected if selected and (selected in models or typed_ok) else default  # e.g. a link's bad ?model=
    if value and value not in models:
        models = [value, *models]
    return gr.update(choices=models, value=value, allow_custom_value=provider.accepts_any_model,
                     info=_model_info(provider))


def _model_info(provider: Provider) -> str | None:
    hint = "Pick one or type any model id." if provider.accepts_any_model else ""
    return " ".join(part for part in (provider.note, hint) if part) or None


class ModelPicker:
    """A provider dropdown and a model dropdown that follows it.

    Models load lazily: the built-in list is shown at first, the provider's
    (possibly discovered) list when a provider is chosen or the model list is opened.
    """

    def __init__(self, registry: Registry, capability: Capability, *, scale: int = 1) -> None:
        self.registry = registry
        self.capability = capability
        default = registry.default_for(capability)
        models = default.model_list(capability) if default else []
        self.provider = gr.Dropdown(
            label="Provider", choices=provider_choices(registry, capability),
            value=default.id if default else None, interactive=True, scale=scale, min_width=160,
            info=provider_info(registry, capability),
        )
        self.model = gr.Dropdown(
            label="Model", choices=models,
            value=default.default_model(capability) if default else None,
            allow_custom_value=bool(default and default.accepts_any_model),
            interactive=True, scale=scale * 2, min_width=200,
            info=_model_info(default) if default else None,
        )
        # `input` (not `change`): a deep link sets provider and model together and must not be undone.
        self.provider.input(self.refresh_models, inputs=[self.provider], outputs=[self.model],
                            api_visibility="private", show_progress="hidden")
        self.model.focus(self.refresh_choices, inputs=[self.provider, self.model], outputs=[self.model],
                         api_visibility="private", show_progress="hidden", trigger_mode="once")

    async def refresh_models(self, provider_id: str, selected: str | None = None) -> dict:
        """Models for the chosen provider: discovered lazily, falling back to the built-in list."""
        try:
            provider = self.registry.get(provider_id)
        except PlaygroundError:
            return gr.update(choices=[], value=None)
        try:
            models = await provider.list_models(self.capability)
        except Exception:
            logger.warning("Listing models of %s failed; using the built-in list", provider.label)
            models = provider.model_list(self.capability)
        return model_dropdown_update(provider, self.capability, models, selected)

    async def refresh_choices(self, provider_id: str, current: str | None = None) -> dict:
        """The model list on opening the picker; the value is left alone while it is still valid,
        so a model id the visitor starts typing is never overwritten when the list arrives."""
        update = await self.refresh_models(provider_id, current)
        if current and update.get("value") == current:
            update.pop("value")
        return update

    async def choose(self, provider_id: str | None, model: str | None) -> tuple[dict, dict]:
        """Updates selecting a provider (unknown or unsuitable ones are ignored) and a model."""
        if not provider_id:
            return gr.update(), await self.refresh_models(self._default_id(), model) if model else gr.update()
        try:
            provider = self.registry.get(provider_id)
        except PlaygroundError:
            return gr.update(), gr.update()
        if not provider.supports(self.capability):
            return gr.update(), gr.update()
        if not is_pickable(provider):
            gr.Info(f"{provider_label(provider)} cannot be used here now; showing "
                    f"{self._default_label()} instead.")
            return gr.update(), gr.update()
        return gr.update(value=provider.id), await self.refresh_models(provider.id, model)

    def for_visitor(self, visitor: Visitor, current: str | None = None,
                    *, pick_default: bool = False) -> tuple[dict, dict]:
        """Provider labels as `visitor` sees them; with `pick_default`, also the provider that can
        answer them (and its default model) when the one shown is not ready for them."""
        choices = provider_choices(self.registry, self.capability, visitor)
        info = provider_info(self.registry, self.capability, visitor)
        if not pick_default:
            return gr.update(choices=choices, info=info), gr.update()
        shown = None
        try:
            shown = self.registry.get(current) if current else None
        except PlaygroundError:
            pass
        if shown is not None and shown.availability(visitor).ready:
            return gr.update(choices=choices, info=info), gr.update()
        default = self.registry.default_for(self.capability, visitor)
        if default is None or default is shown or not is_pickable(default, visitor):
            return gr.update(choices=choices, info=info), gr.update()
        models = default.model_list(self.capability)
        return (gr.update(choices=choices, info=info, value=default.id),
                model_dropdown_update(default, self.capability, models))

    def _default_label(self) -> str:
        default = self.registry.default_for(self.capability)
        return default.label if default else "another provider"

    def _default_id(self) -> str:
        default = self.registry.default_for(self.capability)
        return default.id if default else ""
