"""Running deploy/serve_many.sh (app processes behind HAProxy) for tests and benchmarks."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator

import httpx

from .servers import ROOT, free_port, logged_process

SCRIPT = ROOT / "deploy" / "serve_many.sh"
COOKIE = "SERVERID"


def haproxy_missing() -> str | None:
    """Why serve_many cannot run here, or None."""
    return None if shutil.which("haproxy") else "haproxy is not installed (apt-get install -y haproxy)"


@contextlib.contextmanager
def serve_many(processes: int, env: dict[str, str] | None = None, *, log_path: str | None = None,
               timeout: float = 180) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start the script on free ports; yields the load balancer's URL once it answers; stops it all after."""
    port, backends = free_port(), [free_port() for _ in range(processes)]
    full_env = {**os.environ, **(env or {}), "PROCESSES": str(processes), "GRADIO_SERVER_PORT": str(port),
                "GRADIO_SERVER_NAME": "127.0.0.1", "BACKEND_PORTS": " ".join(map(str, backends)),
                "PYTHONUNBUFFERED": "1"}
    log_path = log_path or os.path.join(full_env.get("GRADIO_TEMP_DIR", "/tmp"), f"serve-many-{port}.log")
    with logged_process(["bash", str(SCRIPT)], full_env, log_path, timeout=timeout, stop=_stop_all,
                        start_new_session=True) as running:
        yield running


def _stop_all(process: subprocess.Popen) -> None:
    """SIGTERM the script, which stops its app processes and HAProxy; kill the whole group if it hangs."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


async def affinity_cookie(client: httpx.AsyncClient, url: str) -> str:
    """The SERVERID the load balancer gives a new visitor on its first page load ("" without one)."""
    response = await client.get(url)
    response.raise_for_status()
    return response.cookies.get(COOKIE, "")


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class _NoCookies:
    """A cookie policy that stores nothing: a client shared by many visitors must not hand one visitor's
    cookie to all (each sends its own)."""

    netscape, rfc2965, hide_cookie2 = True, False, False

    def set_ok(self, cookie, request) -> bool:
        return False

    def return_ok(self, cookie, request) -> bool:
        return False

    def domain_return_ok(self, domain, request) -> bool:
        return False

    def path_return_ok(self, path, request) -> bool:
        return False


def visitors_client(connections: int, timeout: float = 300) -> httpx.AsyncClient:
    """One HTTP client for many simulated visitors: no shared cookies, and idle connections dropped after
    1 s, before a server's keep-alive timeout (uvicorn: 5 s) can close one just as it is reused."""
    client = httpx.AsyncClient(timeout=httpx.Timeout(timeout), trust_env=False, limits=httpx.Limits(
        max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=1.0))
    client.cookies.jar.set_policy(_NoCookies())
    return client
