"""The service worker's shell cache is named after what it holds, so a deploy replaces it.

A browser installs a service worker again only when /sw.js's bytes change, and the worker
serves the shell (patient.js, the stylesheets) cache first: with the fixed name ``waitless-v1``
a phone kept the patient.js it first cached through every later deploy.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from waitless.api.info_pages import service_worker_script
from waitless.api.render import STATIC_DIR
from waitless.domain.errors import ConfigError

_CACHE = re.compile(r'var SHELL_CACHE = "(waitless-shell-[0-9a-f]{16})";')


def _cache_name(script: bytes) -> str:
    found = _CACHE.search(script.decode())
    assert found, "sw.js names no hashed shell cache"
    return found.group(1)


def _static_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(STATIC_DIR, tmp_path / "static"))


def test_the_cache_name_changes_when_a_cached_file_does(tmp_path: Path) -> None:
    static = _static_copy(tmp_path)
    before = _cache_name(service_worker_script(static))
    assert _cache_name(service_worker_script(static)) == before  # the same files, the same name
    for name in ("patient.js", "waitless.css", "vendor/nhsuk-frontend/assets/images/favicon.svg"):
        path = static / name
        path.write_bytes(path.read_bytes() + b"\n")
        after = _cache_name(service_worker_script(static))
        assert after != before, name
        before = after
    # A file the worker does not cache leaves the name alone.
    (static / "commissioners.js").write_bytes(b"// changed\n")
    assert _cache_name(service_worker_script(static)) == before


def test_a_shell_file_that_is_missing_stops_start_up(tmp_path: Path) -> None:
    static = _static_copy(tmp_path)
    (static / "patient.js").unlink()
    with pytest.raises(ConfigError, match=r"/static/patient\.js"):
        service_worker_script(static)


async def test_the_served_worker_carries_the_name_and_deletes_other_caches(page_client) -> None:
    response = await page_client.get("/sw.js")
    assert response.status == 200 and "javascript" in response.headers["Content-Type"]
    assert response.headers["Cache-Control"] == "no-cache"
    body = await response.read()
    assert _cache_name(body) == _cache_name(service_worker_script(STATIC_DIR))
    text = body.decode()
    activate = text.split('addEventListener("activate"', 1)[1].split("});\n", 1)[0]
    assert "caches.delete" in activate
