"""The app starts offline, fast, with no network calls, and serves its API."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from tests.support.servers import ROOT, app_subprocess


APP_SETS_ITSELF = ("GRADIO_ANALYTICS_ENABLED", "HF_HUB_DISABLE_TELEMETRY")


def _env_without_test_defaults() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in APP_SETS_ITSELF}


def test_app_starts_offline_and_answers_info_quickly():
    env = {"PLAYGROUND_EXTRA_PROVIDERS": "tests.support.fake_provider:FakeProvider"}
    started = time.monotonic()
    with app_subprocess(env, timeout=20, drop_env=APP_SETS_ITSELF) as (url, process):
        elapsed = time.monotonic() - started
        info = httpx.get(url + "gradio_api/info", timeout=5).json()
        assert {"/chat", "/vision", "/image", "/providers"} <= set(info["named_endpoints"])
        page = httpx.get(url, timeout=5)
        assert page.status_code == 200 and "<html" in page.text.lower()
        with open(process.log_path) as log:  # type: ignore[attr-defined]
            output = log.read()
    assert elapsed < 20
    assert "OFFLINE-GUARD" not in output, output
    assert "Traceback" not in output, output


def test_import_makes_no_network_calls():
    code = (
        "import sys; sys.argv=['x'];"
        "exec(open('tests/support/offline.py').read().split('sys.addaudithook')[0]);"
        "sys.addaudithook(_guard);"
        "import app; print('DEMO', type(app.demo).__name__)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env=_env_without_test_defaults())
    assert result.returncode == 0, result.stderr
    assert "DEMO Blocks" in result.stdout
    assert "OFFLINE-GUARD" not in result.stderr


def test_the_core_and_the_providers_never_import_gradio():
    """`playground` and `providers` stand without Gradio: only `ui` and `app` build the page
    (Spaces are reached through gradio_client, which is not gradio)."""
    code = ("import sys, playground.service, playground.compare, playground.arena, playground.status, "
            "providers.registry; r = providers.registry.build_registry(); "
            "print(sorted(m for m in sys.modules if m == 'gradio' or m.startswith('gradio.')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=_env_without_test_defaults())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
