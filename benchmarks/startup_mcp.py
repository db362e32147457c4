"""Benchmark 3b: start-up with the MCP server on. Process start to the first /gradio_api/info answer and to
the first MCP `tools/list` answer, for the playground (MCP on by default) and a bare Gradio app with
MCP on; medians over repeats. Target: at most 1.5× the bare app.
"""

from __future__ import annotations

import os
import time

import httpx

import common

REPEATS = 3
TOOLS_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
ACCEPT = {"accept": "application/json, text/event-stream"}


def start_seconds(command: list[str], env: dict[str, str]) -> tuple[float, float | None, int]:
    """(seconds to /gradio_api/info, seconds to the first tools/list answer, tools listed), from process start;
    None and 0 when the app serves no MCP."""
    started = time.monotonic()
    with common.process(command, env) as (url, _, info):
        if env.get("PLAYGROUND_MCP") == "0":
            return info, None, 0
        while True:
            try:
                response = httpx.post(url + "gradio_api/mcp/", json=TOOLS_LIST, headers=ACCEPT, timeout=10)
                if response.status_code == 200 and '"tools"' in response.text:
                    return info, time.monotonic() - started, response.text.count('"inputSchema"')
            except httpx.HTTPError:
                pass
            if time.monotonic() - started > 120:
                raise TimeoutError("tools/list did not answer")
            time.sleep(0.05)


def main() -> None:
    apps = {"bare Gradio app, MCP on": (["benchmarks/bare_app.py"], {"GRADIO_MCP_SERVER": "True"}),
            "playground (MCP on)": (["app.py"], {"PLAYGROUND_PROVIDERS": "", "PLAYGROUND_MCP": "1"}),
            "playground, MCP off (PLAYGROUND_MCP=0)": (["app.py"], {"PLAYGROUND_PROVIDERS": "",
                                                                    "PLAYGROUND_MCP": "0"})}
    runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in apps}
    for _ in range(REPEATS):
        for name, (command, env) in apps.items():  # interleaved, so a busy moment hits both
            runs[name].append(start_seconds(command, env))
    ready = {name: common.median(r[0] for r in values) for name, values in runs.items()}
    tools = {name: common.median(r[1] for r in values) for name, values in runs.items() if values[0][1] is not None}
    bare, ours = "bare Gradio app, MCP on", "playground (MCP on)"
    rows = [[name, runs[name][-1][2], f"{ready[name]:.2f}", f"{tools[name]:.2f}" if name in tools else "–",
             f"{ready[name] / ready[bare]:.2f}×",
             f"{tools[name] / tools[bare]:.2f}×" if name in tools else "–"] for name in apps]
    ok = ready[ours] <= 1.5 * ready[bare] and tools[ours] <= 1.5 * tools[bare]
    load = os.getloadavg()[0]
    notes = [f"Median of {REPEATS} cold starts each (a new Python process, the apps interleaved; load average "
             f"{load:.1f} while measuring: timings on a busy machine vary, the ratio is what counts). \"ready\" is "
             "process start to the first 200 from /gradio_api/info; \"tools listed\" to the first answer of an MCP "
             "`tools/list` request (streamable HTTP) at /gradio_api/mcp/.",
             f"Target ≤ 1.5× the bare app with MCP on: {common.verdict(ok)}."]
    common.publish("startup_mcp", common.table("3b. Start-up with MCP on", [
        "app", "tools", "ready (s)", "tools listed (s)", "ready vs bare", "tools listed vs bare"], rows, notes))


if __name__ == "__main__":
    main()
