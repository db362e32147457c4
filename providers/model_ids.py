"""Checking visitor-typed model ids before any network call.

A model id is sent to a provider's configured host as data; it must never become
an address. huggingface_hub treats a model id starting with `http://` or
`https://` as the endpoint itself (and sends the token there), and a custom server
joins the id into a URL path, so an id with a scheme, a host, `//`, `..`,
whitespace, `%`, `?` or `#` could reach another host or another route.

- `hub_model_id`: the Hub's grammar, `namespace/name` (letters, digits, `-`, `_`,
  `.`; neither part starts or ends with `-` or `.`; no `--` or `..`; at most 96
  characters each), optionally followed by `:provider` (Inference Providers routing,
  e.g. `:together`, or a policy such as `:fastest`).
- `server_model_id`: what self-hosted OpenAI-compatible or TGI servers call their
  models (`llama3.1:8b`, `gpt-4o-mini`, `org/model`, `model@q4`): a bounded run of
  letters, digits and `. _ - : @ + /`, with no `..`, no `//`, no leading `/`, and not
  starting with a loopback or IP address (`localhost:8000`, `127.0.0.1:80`).
"""

from __future__ import annotations

import ipaddress
import re

from .errors import InputError

MAX_MODEL_ID_CHARS = 200
_HUB_PART = r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9])?"
_HUB_ID = re.compile(rf"{_HUB_PART}/{_HUB_PART}(?::[a-z0-9](?:[a-z0-9-]{{0,62}}[a-z0-9])?)?")
_SERVER_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:@+/-]{{0,{MAX_MODEL_ID_CHARS - 1}}}")
HUB_EXAMPLE = "meta-llama/Llama-3.3-70B-Instruct"


def shown(value: str, limit: int = 60) -> str:
    """A visitor-typed value as it may appear in a message or a log line: quoted and bounded."""
    text = repr(value[:limit])
    return text + (f" (+{len(value) - limit:,} characters)" if len(value) > limit else "")


def is_hub_model_id(value: str) -> bool:
    return (len(value) <= MAX_MODEL_ID_CHARS and _HUB_ID.fullmatch(value) is not None
            and ".." not in value and "--" not in value)


def _looks_like_an_address(value: str) -> bool:
    first = value.split("/", 1)[0]
    host = first.rsplit(":", 1)[0] if first.count(":") == 1 else first
    if host.lower() == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_server_model_id(value: str) -> bool:
    return (_SERVER_ID.fullmatch(value) is not None and ".." not in value and "//" not in value
            and not _looks_like_an_address(value))


def _refuse(value: str, provider: str, advice: str) -> InputError:
    where = f"{provider}: " if provider else ""
    return InputError(f"{where}{shown(value)} is not a model id. {advice}")


def hub_model_id(value: str, provider: str = "") -> str:
    """`value` when it is a Hub model id; otherwise a clear InputError."""
    if is_hub_model_id(value):
        return value
    raise _refuse(value, provider, f"Use the Hub's owner/name form, for example {HUB_EXAMPLE} (optionally :provider).")


def server_model_id(value: str, provider: str = "") -> str:
    """`value` when it is a plausible model name for a self-hosted server; otherwise a clear InputError."""
    if is_server_model_id(value):
        return value
    raise _refuse(value, provider, f"Use the name the server lists, for example llama3.1:8b or {HUB_EXAMPLE}.")
