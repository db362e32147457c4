"""App-level settings (see the README's configuration table)."""

from __future__ import annotations

import hashlib
import socket
from dataclasses import dataclass

from providers.config import env_bool, env_float, env_int, env_str, is_public_space


@dataclass(frozen=True)
class AppSettings:
    server_name: str
    server_port: int
    share: bool
    concurrency_limit: int | None
    max_queue_size: int | None
    #: Events Gradio runs at once across the whole app (its `max_threads`, 40 by default):
    #: past it, visitors wait for each other even for I/O-bound streams.
    max_active_events: int
    frame_interval: float
    #: The longest frame interval, reached when many streams run at once.
    frame_interval_max: float
    max_prompt_chars: int
    title: str
    #: Key for what "remember in this browser" stores. Gradio hands it to the page, so it only keeps
    #: stored values unreadable to a casual look; it must stay fixed so they survive a restart.
    browser_secret: str = ""
    #: Offer "Sign in with Hugging Face" (OAuth): only on a Space, where the login routes exist.
    oauth: bool = False
    #: Fair use per visitor (0 = unlimited): provider calls running at once, and started per minute.
    visitor_max_streams: int = 4
    visitor_per_minute: int = 30
    #: Sessions kept at once, in Gradio's state holder (`state_session_capacity`) and in the app's
    #: per-visitor store; past it the least recently used are released (never one with a call running).
    max_sessions: int = 1000
    #: Seconds after which an idle visitor's provider state (Space clients, conversations) is released.
    visitor_idle_seconds: float = 900.0
    #: Largest request body the server reads (JSON events, MCP calls; uploads are bounded per file); 0 = unlimited.
    max_request_bytes: int = 32_000_000
    #: Bounds on one whole chat request.
    max_messages: int = 200
    max_request_chars: int = 400_000
    max_request_images: int = 16
    #: Largest file one upload may be; Gradio refuses a bigger one while receiving it (HTTP 413),
    #: before it is stored. Defaults to IMAGE_MAX_FILE_BYTES (25 MB).
    max_upload_bytes: int = 25_000_000
    #: Bytes of files one visitor may have the server store per hour (uploads and exported
    #: conversations; each file counts 64 KB more); 0 = unlimited.
    visitor_file_bytes: int = 250_000_000
    #: Seconds after which uploads, generated images and exports are deleted (Gradio's
    #: `delete_cache`, swept hourly or every max-age if shorter); 0 keeps them until the app stops.
    cache_max_age: int = 86_400
    #: "Refresh status" checks the providers (e.g. wakes each Space) at most once per this many
    #: seconds for everyone; each provider's check gives up after `status_check_timeout`.
    status_check_interval: float = 30.0
    status_check_timeout: float = 20.0
    #: Serve Gradio's MCP server at /gradio_api/mcp/ (the public API's endpoints as tools).
    mcp_server: bool = True

    @classmethod
    def from_env(cls) -> AppSettings:
        concurrency = env_int("PLAYGROUND_CONCURRENCY", 64, minimum=0)
        queue_size = env_int("PLAYGROUND_MAX_QUEUE", 256, minimum=0)
        return cls(
            server_name=env_str("GRADIO_SERVER_NAME", "127.0.0.1"),
            server_port=env_int("GRADIO_SERVER_PORT", 7860, minimum=1),
            share=env_bool("PLAYGROUND_SHARE", False),
            concurrency_limit=concurrency or None,
            max_queue_size=queue_size or None,
            max_active_events=env_int("PLAYGROUND_MAX_ACTIVE_EVENTS", 256, minimum=1),
            frame_interval=env_float("PLAYGROUND_FRAME_INTERVAL", 0.04, minimum=0.0),
            frame_interval_max=env_float("PLAYGROUND_FRAME_INTERVAL_MAX", 0.25, minimum=0.0),
            max_prompt_chars=env_int("PLAYGROUND_MAX_PROMPT_CHARS", 100_000, minimum=100),
            title=env_str("PLAYGROUND_TITLE", "AI Model Playground"),
            browser_secret=env_str("PLAYGROUND_BROWSER_SECRET") or default_browser_secret(),
            oauth=is_public_space(),
            visitor_max_streams=env_int("PLAYGROUND_VISITOR_MAX_STREAMS", 4, minimum=0),
            visitor_per_minute=env_int("PLAYGROUND_VISITOR_PER_MINUTE", 30, minimum=0),
            max_sessions=env_int("PLAYGROUND_MAX_SESSIONS", 1000, minimum=10),
            visitor_idle_seconds=env_float("PLAYGROUND_VISITOR_IDLE_SECONDS", 900.0, minimum=1.0),
            max_messages=env_int("PLAYGROUND_MAX_MESSAGES", 200, minimum=2),
            max_request_chars=env_int("PLAYGROUND_MAX_REQUEST_CHARS", 400_000, minimum=100),
            max_request_images=env_int("PLAYGROUND_MAX_REQUEST_IMAGES", 16, minimum=1),
            max_request_bytes=env_int("PLAYGROUND_MAX_REQUEST_BYTES", 32_000_000, minimum=0),
            max_upload_bytes=env_int("PLAYGROUND_MAX_UPLOAD_BYTES",
                                     env_int("IMAGE_MAX_FILE_BYTES", 25_000_000, minimum=100_000), minimum=100_000),
            visitor_file_bytes=env_int("PLAYGROUND_VISITOR_FILE_BYTES", 250_000_000, minimum=0),
            cache_max_age=env_int("PLAYGROUND_CACHE_MAX_AGE", 86_400, minimum=0),
            status_check_interval=env_float("PLAYGROUND_STATUS_CHECK_INTERVAL", 30.0, minimum=0.0),
            status_check_timeout=env_float("PLAYGROUND_STATUS_CHECK_TIMEOUT", 20.0, minimum=1.0),
            mcp_server=env_bool("PLAYGROUND_MCP", True),
        )


def default_browser_secret() -> str:
    """A stable key derived from where the app runs: the Space id, else the host name."""
    where = env_str("SPACE_ID") or socket.gethostname()
    return hashlib.sha256(f"ai-model-playground:{where}".encode()).hexdigest()[:32]
