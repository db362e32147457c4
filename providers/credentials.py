"""Where a credential may go: the one place that decides it.

The rules (the README's "Security" section states them for operators):

- A Hugging Face token (the visitor's own, or the operator's `HF_TOKEN`) goes only
  to Hugging Face's hosts: `huggingface.co`, `hf.space` and `huggingface.cloud` and
  their subdomains (the router among them), plus the exact host names listed in
  `HF_TRUSTED_HOSTS`. Any other server gets its own configured key or none.
- The addresses that receive credentials come from the operator's settings only;
  nothing a visitor types (model id, deep link, header, file) ever becomes one
  (model ids are checked by `providers.model_ids` before any network call).
- On a public Space (`SPACE_ID` set) the operator's credentials serve anonymous
  visitors only when `ALLOW_SHARED_CREDENTIALS=1`; otherwise visitors sign in.
- huggingface_hub never adds a token of its own: the implicit `HF_TOKEN` lookup is
  switched off (`use_explicit_tokens_only`), so the library sends exactly the key an
  adapter hands it and nothing to `HF_ENDPOINT` or anywhere else.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .config import env_str, is_public_space
from .settings import AccessSettings

if TYPE_CHECKING:
    from .session import Visitor

logger = logging.getLogger(__name__)

#: Domains owned by Hugging Face: the hub and router, Spaces, Inference Endpoints.
HF_DOMAINS = ("huggingface.co", "hf.space", "huggingface.cloud")


def host_of(url: str | None) -> str:
    """The lower-case host name of a URL ('' when it has none)."""
    try:
        return (urlsplit(url or "").hostname or "").lower().rstrip(".")
    except ValueError:  # e.g. a malformed IPv6 literal
        return ""


def is_hf_host(url: str | None) -> bool:
    """True when `url` (None = the default router) may receive a Hugging Face token.

    Hugging Face's own domains and their subdomains qualify, plus the exact host
    names listed in HF_TRUSTED_HOSTS (comma-separated; empty by default).
    """
    if not url:
        return True
    host = host_of(url)
    if not host:
        return False
    if any(host == domain or host.endswith("." + domain) for domain in HF_DOMAINS):
        return True
    return host in {h.lower().rstrip(".") for h in AccessSettings.current().hf_trusted_hosts}


def is_loopback_host(url: str) -> bool:
    """True for `localhost` and loopback addresses (the operator's own machine)."""
    host = host_of(url)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def space_may_receive_credentials(source: str) -> bool:
    """Whether a visitor's HF token and ZeroGPU token may go to a configured Space.

    An "owner/name" id always resolves to a Hugging Face Space; a URL qualifies when
    it is a Hugging Face host (or trusted) or the operator's own machine.
    """
    if "://" not in source:
        return True
    return is_hf_host(source) or is_loopback_host(source)


def shared_credentials_allowed() -> bool:
    """Whether the operator's credentials may serve visitors who have none of their own.

    Always off a public Space; on one only with ALLOW_SHARED_CREDENTIALS=1.
    """
    return not is_public_space() or AccessSettings.current().allow_shared_credentials


def operator_credential(setting: str) -> str | None:
    """The operator's credential in `setting` (e.g. HF_TOKEN), when it may serve anonymous visitors."""
    value = env_str(setting)
    if not value:
        return None
    if not shared_credentials_allowed():
        return None
    return value


def use_explicit_tokens_only() -> None:
    """Stop huggingface_hub from adding HF_TOKEN (or a saved login) to requests by itself.

    Every call this app makes passes its key explicitly; the library's implicit
    token would otherwise reach `HF_ENDPOINT` (model metadata and provider mapping
    look-ups) even when that is not a Hugging Face host, and on a public Space it
    would lend the operator's token to every visitor.
    """
    from huggingface_hub import constants

    constants.HF_HUB_DISABLE_IMPLICIT_TOKEN = True


@dataclass(frozen=True)
class Credential:
    """A secret a visitor may bring for a provider, as the provider declares it.

    The Settings fields, the request headers API callers may send, `Visitor.credentials`
    and availability ("needs sign-in") are all built from these declarations, so a
    provider with a credential of its own adds one here (or in its own module) and
    nothing in the UI.
    """

    #: The key in `Visitor.credentials` (and in the browser's remembered settings).
    key: str
    #: What a person calls it: "Hugging Face token".
    label: str
    #: The request header an API caller may send it in (lower case).
    header: str
    #: How to get one, shown under the Settings field.
    help: str
    #: The environment variable with the operator's own value, shared per `operator_credential`.
    operator_setting: str
    #: The hosts it may be sent to: a predicate over a base URL (None = the provider's default host).
    may_go_to: Callable[[str | None], bool]
    placeholder: str = ""
    #: True when signing in with Hugging Face (OAuth on a Space) supplies it.
    from_sign_in: bool = False

    def own(self, visitor: Visitor | None) -> str | None:
        """The visitor's own value, if they brought one."""
        return visitor.credential(self.key) if visitor is not None else None

    def value_for(self, visitor: Visitor | None) -> str | None:
        """The value to use for this visitor: their own, else the operator's when sharing is allowed."""
        return self.own(visitor) or operator_credential(self.operator_setting)


HF_TOKEN = Credential(
    key="hf_token", label="Hugging Face token", header="x-hf-token",
    help="Create one at huggingface.co/settings/tokens (read access is enough).",
    operator_setting="HF_TOKEN", may_go_to=is_hf_host, placeholder="hf_…", from_sign_in=True,
)
HUGGINGCHAT_COOKIE = Credential(
    key="huggingchat_cookie", label="HuggingChat cookie", header="x-huggingchat-cookie",
    help="The value of the hf-chat cookie from huggingface.co/chat.",
    operator_setting="HUGGINGCHAT_COOKIE", may_go_to=is_hf_host, placeholder="hf-chat cookie value",
)
