"""Through the public API, a stream that fails keeps everything that arrived, not just the last frame sent."""

from __future__ import annotations

import pytest
from gradio_client.exceptions import AppError


def test_chat_failing_mid_stream_streams_the_whole_partial_answer_then_the_error(client):
    # The fake provider yields "partial " and "answer " back to back, then fails: with frames
    # coalesced (40 ms), the second piece is still pending when the error arrives.
    job = client.submit(messages=[{"role": "user", "content": "fail-mid:down now"}], provider="fake",
                        model="echo", system_prompt="", temperature=0.7, max_tokens=64, top_p=0.9,
                        api_name="/chat")
    with pytest.raises(AppError, match="Fake Provider is unavailable right now"):
        job.result(timeout=30)
    assert job.outputs()[-1] == "partial answer "
