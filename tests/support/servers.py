"""Starting servers on 127.0.0.1 on free ports for tests, and stopping them cleanly."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port the OS says is free on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve_asgi(app, *, port: int | None = None) -> Iterator[str]:
    """Run an ASGI app (e.g. Starlette) with uvicorn in a thread; yields its base URL."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def serving(server):
    """Serve a test server object's ASGI `app` (see `serve_asgi`), with its `url` set; yields the server."""
    with serve_asgi(server.app) as url:
        server.url = url
        yield server


@contextlib.contextmanager
def launch_blocks(demo, *, max_file_size: int | None = None, mcp_server: bool = False) -> Iterator[str]:
    """Launch a Gradio Blocks in-process on a free port; yields its URL, closes it after.

    Uploads are limited as app.py limits them: `max_file_size`, else the app's
    PLAYGROUND_MAX_UPLOAD_BYTES. With `mcp_server`, Gradio's MCP server is served too
    (at `<url>gradio_api/mcp/`, as app.py serves it unless PLAYGROUND_MCP=0).
    """
    from ui.app import app_kwargs
    from ui.config import AppSettings

    playground = getattr(demo, "playground", None)  # launched as app.py does; other apps as they are
    settings = playground.settings if playground is not None else AppSettings.from_env()
    if max_file_size is None:
        max_file_size = settings.max_upload_bytes
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(),
                            quiet=True, max_file_size=max_file_size, mcp_server=mcp_server,
                            app_kwargs=app_kwargs(playground) if playground is not None else None)
    try:
        yield url.rstrip("/") + "/"
    finally:
        demo.close()


def wait_for_info(url: str, timeout: float, process: subprocess.Popen | None = None) -> float:
    """Poll /gradio_api/info until it answers; returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"app exited with code {process.returncode}")
        try:
            if httpx.get(url + "gradio_api/info", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer /gradio_api/info within {timeout} s")


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """Terminate a child process, killing it if it does not exit within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()


@contextlib.contextmanager
def logged_process(command: list[str], env: dict[str, str], log_path: str, *, timeout: float,
                   stop: Callable[[subprocess.Popen], None] = stop_process,
                   **popen: Any) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run `command` with its output in `log_path`; yields (url, process) once the app on env's
    GRADIO_SERVER_PORT answers /gradio_api/info, and `stop`s it after."""
    log = open(log_path, "w+")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, **popen)
    url = f"http://127.0.0.1:{env['GRADIO_SERVER_PORT']}/"
    try:
        wait_for_info(url, timeout, process)
        process.log_path = log.name  # type: ignore[attr-defined]
        yield url, process
    finally:
        stop(process)
        log.close()


@contextlib.contextmanager
def app_subprocess(env: dict[str, str] | None = None, *, args: list[str] | None = None,
                   offline: bool = True, timeout: float = 60,
                   drop_env: tuple[str, ...] = ()) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run `python app.py` (behind a no-network guard when `offline`) on a free port.

    The app inherits this process's environment plus `env`, minus the names in `drop_env`.
    """
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if k not in drop_env}
    full_env = {**inherited, **(env or {}), "GRADIO_SERVER_PORT": str(port),
                "GRADIO_SERVER_NAME": "127.0.0.1", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable]
    if offline:
        command += [str(ROOT / "tests" / "support" / "offline.py")]
    command += [str(ROOT / "app.py"), *(args or [])]
    log_path = full_env.get("GRADIO_TEMP_DIR", "/tmp") + f"/app-{port}.log"
    with logged_process(command, full_env, log_path, timeout=timeout) as running:
        yield running
