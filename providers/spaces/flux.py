"""FLUX.1 image Spaces (schnell and dev) through gradio_client.

Both expose `/infer(prompt, seed, randomize_seed, width, height, [guidance_scale,]
num_inference_steps) -> (image, seed)`. The Spaces keep no session state, so one
shared Client serves every visitor, each call carrying its visitor's headers. The image
is fetched from the Space by `Space.read_file` (never read from a path in the answer).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, ClassVar

from ..base import Capability, ImageOptions, ImageRequest, ImageResult
from ..code import SPACE, CodeTarget, GradioCall
from ..media import check_returned_image
from ..session import Visitor
from .space import Space, SpaceProvider, api_changed

ENDPOINT = "/infer"


class FluxSpaceProvider(SpaceProvider):
    """Base for the FLUX Spaces; subclasses name the Space, its setting and defaults."""

    setting: ClassVar[str]
    default_space: ClassVar[str]
    default_steps: ClassVar[int]
    default_guidance: ClassVar[float | None] = None
    #: The guidance the Space's slider allows (None: it takes none).
    guidance_range: ClassVar[tuple[float, float] | None] = None
    #: The Spaces' own slider for steps goes from 1 to 50; more is refused.
    steps_range: ClassVar[tuple[int, int]] = (1, 50)
    capabilities = frozenset({Capability.IMAGE})
    note = "A ZeroGPU Space: visitors use their own quota; sign in for more."

    def __init__(self) -> None:
        self.space = Space(self.label, self.setting, self.default_space, per_visitor=False)

    def image_options(self, model: str) -> ImageOptions:
        return ImageOptions(steps=self.steps_range, default_steps=self.default_steps, guidance=self.guidance_range,
                            default_guidance=self.default_guidance, negative_prompt=False)

    def arguments(self, request: ImageRequest) -> dict[str, Any]:
        """`/infer`'s arguments by name, in the Spaces' order (a name the Space lacks is left out when sent)."""
        wanted = {
            "prompt": request.prompt,
            "seed": max(request.seed, 0),
            "randomize_seed": request.seed < 0,
            "width": request.width,
            "height": request.height,
            "guidance_scale": request.guidance if request.guidance is not None else self.default_guidance,
            "num_inference_steps": request.steps or self.default_steps,
        }
        return {k: v for k, v in wanted.items() if v is not None}

    async def code_target(self, request: ImageRequest) -> CodeTarget:  # type: ignore[override]
        return CodeTarget(SPACE, base_url=self.space.source(), key_env="HF_TOKEN",
                          calls=(GradioCall(ENDPOINT, self.arguments(request)),))

    async def generate_image(self, request: ImageRequest, visitor: Visitor) -> ImageResult:
        deadline = self.space.deadline()
        session = await self.space.session(visitor, deadline)
        params = {p.name for p in session.api.get(ENDPOINT, [])}
        if "prompt" not in params:
            raise api_changed(self.label, f"{ENDPOINT}(prompt, seed, randomize_seed, width, height, ...)",
                              session.api)
        arguments = {k: v for k, v in self.arguments(request).items() if k in params}
        result: Any = None
        async for output in self.space.stream(session, ENDPOINT, visitor=visitor, deadline=deadline,
                                              kwargs=arguments):
            result = output
        image, seed = (result if isinstance(result, tuple) else (result, None))[:2]
        # Checked before it is decoded: over IMAGE_MAX_PIXELS a ProtocolError, not a whole image a ValueError.
        data, mime, width, height = await self.space.read_file(
            session, image, deadline=deadline, kind="image", decode=partial(check_returned_image, provider=self.label))
        given = isinstance(seed, (int, float)) and math.isfinite(seed)
        used_seed = int(seed) if given else (request.seed if request.seed >= 0 else None)
        return ImageResult(data, request.model, used_seed, width, height, mime=mime)


class FluxSchnellProvider(FluxSpaceProvider):
    id = "flux-schnell"
    label = "FLUX.1 schnell (Space)"
    url = "https://huggingface.co/spaces/black-forest-labs/FLUX.1-schnell"
    models = {Capability.IMAGE: ["FLUX.1-schnell"]}
    setting = "FLUX_SCHNELL_SPACE"
    default_space = "black-forest-labs/FLUX.1-schnell"
    default_steps = 4


class FluxDevProvider(FluxSpaceProvider):
    id = "flux-dev"
    label = "FLUX.1 dev (Space)"
    url = "https://huggingface.co/spaces/black-forest-labs/FLUX.1-dev"
    models = {Capability.IMAGE: ["FLUX.1-dev"]}
    setting = "FLUX_DEV_SPACE"
    default_space = "black-forest-labs/FLUX.1-dev"
    default_steps = 28
    default_guidance = 3.5
    guidance_range = (1.0, 15.0)
