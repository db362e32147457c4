"""Run every benchmark in turn (about 8 minutes on 2 idle cores) and collect the tables in results/ALL.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["relay_overhead", "concurrency", "startup", "startup_mcp", "image_intake", "memory", "api_sessions",
              "space_threads"]


def main() -> int:
    failed = [name for name in BENCHMARKS
              if subprocess.run([sys.executable, str(HERE / f"{name}.py")], cwd=HERE.parent).returncode != 0]
    tables = [(HERE / "results" / f"{name}.md").read_text() for name in BENCHMARKS
              if (HERE / "results" / f"{name}.md").exists()]
    (HERE / "results" / "ALL.md").write_text("\n".join(tables))
    if failed:
        print("failed:", ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
