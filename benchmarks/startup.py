"""Benchmark 3: start-up. Time to import `app` (which builds the UI) and to the first answer of
/gradio_api/info, against a bare Gradio app; medians over repeats. Target: at most 1.5× the bare app.
"""

from __future__ import annotations

import subprocess
import sys

import common

REPEATS = 3
IMPORT = "import time, sys; sys.path.insert(0, '.'); t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def import_seconds(module: str, path: str) -> float:
    code = IMPORT.format(module=module).replace("sys.path.insert(0, '.')", f"sys.path.insert(0, {path!r})")
    out = subprocess.run([sys.executable, "-c", code], cwd=common.ROOT, capture_output=True, text=True, check=True,
                         env={**common.os.environ, "LOG_LEVEL": "WARNING"})
    return float(out.stdout.strip().splitlines()[-1])


def info_seconds(command: list[str]) -> float:
    with common.process(command, {"PLAYGROUND_PROVIDERS": ""}) as (_, _, seconds):
        return seconds


def main() -> None:
    imports = {"bare Gradio app": [], "playground": []}
    ready = {"bare Gradio app": [], "playground": []}
    for _ in range(REPEATS):
        imports["bare Gradio app"].append(import_seconds("bare_app", str(common.ROOT / "benchmarks")))
        imports["playground"].append(import_seconds("app", str(common.ROOT)))
        ready["bare Gradio app"].append(info_seconds(["benchmarks/bare_app.py"]))
        ready["playground"].append(info_seconds(["app.py"]))
    imp = {k: common.median(v) for k, v in imports.items()}
    rdy = {k: common.median(v) for k, v in ready.items()}
    rows = [[name, f"{imp[name]:.2f}", f"{rdy[name]:.2f}", f"{imp[name] / imp['bare Gradio app']:.2f}×",
             f"{rdy[name] / rdy['bare Gradio app']:.2f}×"] for name in imports]
    ok = imp["playground"] <= 1.5 * imp["bare Gradio app"] and rdy["playground"] <= 1.5 * rdy["bare Gradio app"]
    notes = [f"Median of {REPEATS} cold starts each (a new Python process). \"import\" imports the module, which "
             "builds the UI; \"ready\" is process start to the first 200 from /gradio_api/info.",
             f"Target ≤ 1.5× the bare app: {common.verdict(ok)}."]
    common.publish("startup", common.table("3. Start-up", ["app", "import (s)", "ready (s)", "import vs bare",
                                                           "ready vs bare"], rows, notes))


if __name__ == "__main__":
    main()
