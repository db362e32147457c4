"""Who a visitor is, for fair-use limits (no gradio here; takes a gr.Request or anything shaped like it).

In order:
1. the signed-in Hugging Face user (`user:<name>`);
2. the client's address (`ip:<address>`). Uvicorn already replaces the peer address
   with the `X-Forwarded-For` client when the peer is a trusted proxy
   (`FORWARDED_ALLOW_IPS`, default `127.0.0.1,::1`: the uvicorn convention). On a Space
   the Spaces proxy is trusted too: the right-most public address it forwarded is taken
   (a visitor can prepend anything to that header, but not append);
3. the Gradio session (`session:<hash>`), also for requests from this machine itself
   (loopback with no forwarded client: local use, tests and benchmarks), so that
   separate browser tabs or API clients on one machine are told apart.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from providers.config import is_public_space

#: The key `file_owner` gives requests from this machine itself.
THIS_MACHINE = "this-machine"


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip().strip('"')
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def forwarded_client(header: str | None) -> str | None:
    """The right-most public address in an X-Forwarded-For value (what the last proxy saw)."""
    for item in reversed((header or "").split(",")):
        address = _address(item)
        if address is not None and address.is_global:
            return str(address)
    return None


def visitor_key(request: Any, session: str) -> str:
    """The key fair-use limits are counted by, for one request in `session` (see the module docstring)."""
    username = getattr(request, "username", None)
    if username:
        return f"user:{username}"
    return address_key(request, session)


def file_owner(request: Any) -> str:
    """Whom the files a request stores (uploads, exports) are charged to: its client's address, which
    the upload route can tell without a Gradio session; requests from this machine share one key."""
    return address_key(request, THIS_MACHINE)


def address_key(request: Any, session: str) -> str:
    """Steps 2 and 3 of the module docstring: the client's address, else `session` (what the server
    can tell before any sign-in is read, e.g. on Gradio's upload route)."""
    headers = getattr(request, "headers", None) or {}
    if is_public_space():
        forwarded = forwarded_client(headers.get("x-forwarded-for"))
        if forwarded:
            return f"ip:{forwarded}"
    client = getattr(request, "client", None)
    host = getattr(client, "host", None) or ""
    address = _address(host)
    if address is None or address.is_loopback:
        return f"session:{session}"
    return f"ip:{address}"
