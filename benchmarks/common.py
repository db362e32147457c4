"""Shared pieces of the benchmarks: a local provider, the app and the bare relay as processes, CPU and memory.

Run from the repository root: `python benchmarks/<name>.py`. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("GRADIO_TEMP_DIR", "/tmp/playground-bench-gradio")

import httpx  # noqa: E402

from tests.support.servers import free_port, stop_process, wait_for_info  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MODEL = "served/model-a"


def words_for(tokens: int) -> str:
    """A prompt that makes the local provider stream exactly `tokens` tokens ("Hello from <model>: ...")."""
    return " ".join(f"w{i}" for i in range(tokens - 3))


@contextlib.contextmanager
def provider(token_delay: float) -> Iterator[str]:
    """The local OpenAI-compatible SSE server (tests/support/hf_server.py) with a fixed per-token latency,
    run as its own process so it never competes with the load client for a core."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "provider_server.py"), str(port),
                             str(token_delay)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the benchmark provider did not start")
            time.sleep(0.1)
        yield url
    finally:
        stop_process(proc)


@contextlib.contextmanager
def process(command: list[str], env: dict[str, str] | None = None, timeout: float = 120) -> Iterator[tuple[str, subprocess.Popen, float]]:
    """Start a Gradio server process on a free port; yields (url, process, seconds until /gradio_api/info answered)."""
    port = free_port()
    full_env = {**os.environ, **(env or {}), "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
                "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "WARNING"}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, *command], cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_info(url, timeout, proc)
        yield url, proc, time.monotonic() - started
    finally:
        stop_process(proc)


def app(provider_url: str, **env: str):
    """The playground (`python app.py`) with only the OpenAI-compatible provider, aimed at `provider_url`."""
    return process(["app.py"], {"PLAYGROUND_PROVIDERS": "openai-compatible",
                                "OPENAI_COMPAT_BASE_URL": provider_url + "/v1", **env})


def bare_relay(provider_url: str):
    """The reference: a minimal Gradio relay (benchmarks/bare_relay.py) to the same provider."""
    return process(["benchmarks/bare_relay.py"], {"OPENAI_COMPAT_BASE_URL": provider_url + "/v1"})


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def median(values) -> float:
    return statistics.median(list(values))


def table(title: str, header: list[str], rows: list[list], notes: list[str] = ()) -> str:
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    if notes:
        lines += [""] + [f"{n}" for n in notes]
    return "\n".join(lines) + "\n"


def publish(name: str, markdown: str) -> None:
    """Print the table and write it to benchmarks/results/<name>.md."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M")
    text = markdown + f"\n_Measured {stamp} on {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}._\n"
    (RESULTS / f"{name}.md").write_text(text)
    print(text)


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"
