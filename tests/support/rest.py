"""One call through Gradio's REST API (`/gradio_api/call/<name>`) with a hand-written JSON body."""

from __future__ import annotations

import httpx


def rest_call(app_url: str, api_name: str, data_json: str, *, timeout: float = 60) -> tuple[str, str]:
    """Posts `{"data": <data_json>}` (text, so it may hold NaN or Infinity as some clients send them) and
    reads the event stream; returns the last (event, data)."""
    with httpx.Client(base_url=app_url, timeout=timeout) as http:
        started = http.post(f"gradio_api/call/{api_name}", content='{"data": ' + data_json + "}",
                            headers={"content-type": "application/json"})
        started.raise_for_status()
        event = data = ""
        with http.stream("GET", f"gradio_api/call/{api_name}/{started.json()['event_id']}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    data = line.split(":", 1)[1].strip()
        return event, data
