"""App-level settings (see the README's configuration table)."""

from __future__ import annotations

from dataclasses import dataclass

from providers.config import env_bool, env_float, env_int, env_str


@dataclass(frozen=True)
class AppSettings:
    server_name: str
    server_port: int
    share: bool
    concurrency_limit: int | None
    max_queue_size: int | None
    frame_interval: float
    max_prompt_chars: int
    title: str

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
            frame_interval=env_float("PLAYGROUND_FRAME_INTERVAL", 0.04, minimum=0.0),
            max_prompt_chars=env_int("PLAYGROUND_MAX_PROMPT_CHARS", 100_000, minimum=100),
            title=env_str("PLAYGROUND_TITLE", "AI Model Playground"),
        )
