"""A test provider with a credential of its own, added by this one file and a registry line
(PLAYGROUND_EXTRA_PROVIDERS=tests.support.keyed_provider:KeyedProvider): nothing in `ui/` or
`Visitor` knows about it, yet Settings offers its field, API callers may send it in its header,
and it reads as "needs sign-in" until the visitor gives it.

It answers "Keyed: <the last 4 characters of the key> heard <text>".
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from providers import AuthRequiredError, Capability, ChatRequest, Provider, TextDelta, Visitor
from providers.credentials import Credential
from providers.events import ChatEvent

DEMO_KEY = Credential(
    key="demo_key", label="Demo service key", header="x-demo-key",
    help="Any value of 16 or more characters.", operator_setting="DEMO_SERVICE_KEY",
    may_go_to=lambda url: url is None, placeholder="demo-…",
)


class KeyedProvider(Provider):
    id = "keyed"
    label = "Keyed Service"
    capabilities = frozenset({Capability.TEXT})
    models = {Capability.TEXT: ["keyed-model"]}
    credential = DEMO_KEY

    async def chat(self, request: ChatRequest, visitor: Visitor) -> AsyncIterator[ChatEvent]:
        key = DEMO_KEY.value_for(visitor)
        if not key:
            raise AuthRequiredError(self.label, "no demo key")
        yield TextDelta(f"Keyed: {key[-4:]} heard {request.messages[-1].text}")
