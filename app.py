"""AI Model Playground: `python app.py` serves it on 127.0.0.1:7860 (see README)."""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from providers.logs import setup_logging  # noqa: E402
from ui.app import CSS, JS, app_kwargs, build_demo  # noqa: E402
from ui.config import AppSettings  # noqa: E402

setup_logging()
demo = build_demo()

#: Gradio's footer without its "Settings" link: the app's own Settings tab is the one place for settings.
FOOTER_LINKS = ["api", "gradio", "runs"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the AI Model Playground.")
    parser.add_argument("--share", action="store_true", help="also create a public share link")
    args = parser.parse_args(argv)
    settings = AppSettings.from_env()
    demo.launch(
        server_name=settings.server_name,
        server_port=settings.server_port,
        share=args.share or settings.share,
        max_threads=settings.max_active_events,
        max_file_size=settings.max_upload_bytes,  # refused while receiving, before it is stored
        state_session_capacity=settings.max_sessions,  # Gradio's sessions, least recently used dropped
        css=CSS,
        js=JS,
        footer_links=FOOTER_LINKS,
        mcp_server=settings.mcp_server,  # the public API as MCP tools at /gradio_api/mcp/
        app_kwargs=app_kwargs(demo.playground),  # request size and upload bounds, no fetch-a-URL file route
    )


if __name__ == "__main__":
    main()
