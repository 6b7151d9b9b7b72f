"""The footer's pages (how it works, privacy, accessibility) and the offline service worker."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from aiohttp import web

from waitless.api import keys
from waitless.api.render import STATIC_DIR, render
from waitless.api.sent_cookie import SENT_COOKIE_KEY
from waitless.domain.errors import ConfigError

# /sw.js as served: its shell cache named after the files it caches (service_worker_script).
SERVICE_WORKER = web.AppKey("service_worker", bytes)
_SHELL_LIST = re.compile(r"^var SHELL = \[(.*?)\];", re.MULTILINE | re.DOTALL)
_SHELL_CACHE = 'var SHELL_CACHE = "waitless-shell";'
# Where each URL prefix of the shell list is served from (waitless.api.routes), under static/.
_URL_DIRS = {"/static/": ".", "/assets/": "vendor/nhsuk-frontend/assets"}

INFO_PAGES = {
    "how-it-works": "How rankings and predictions work",
    "privacy": "Privacy notice",
    "accessibility": "Accessibility statement",
}


def info_handler(name: str):
    """A handler rendering ``templates/info/<name>.html`` inside the page layout."""

    async def handler(request: web.Request) -> web.Response:
        app = request.app
        # The privacy notice says what this deployment keeps: the load-aware cookie only where
        # a served region enables it (docs/privacy.md), and the retention period set.
        return render(request, "info/page.html",
                      {"region_title": app[keys.REGION].title, "name": name,
                       "title": INFO_PAGES[name], "sent_cookie": SENT_COOKIE_KEY in app,
                       "retention_days": app[keys.SETTINGS].event_retention_days})

    return handler


def service_worker_script(static_dir: Path = STATIC_DIR) -> bytes:
    """``sw.js`` with its shell cache named after a hash of the worker and every file it caches.

    A browser installs a service worker again only when the bytes of ``/sw.js`` change, and the
    worker answers the shell (``SHELL`` in ``sw.js``) from its cache first: under a fixed name a
    phone kept the ``patient.js`` it first cached through every later deploy. A changed shell
    file now changes the name, so the worker is installed again, caches the new files and
    deletes the old cache when it activates.

    Parameters
    ----------
    static_dir
        The ``static`` folder holding ``sw.js`` and the files its ``SHELL`` list names.

    Raises
    ------
    ConfigError
        When the list or the cache name is not where this reads them, or a listed file is
        missing (the worker would fail to install on every phone).
    """
    text = (static_dir / "sw.js").read_text(encoding="utf-8")
    listed = _SHELL_LIST.search(text)
    if listed is None or _SHELL_CACHE not in text:
        msg = f"{static_dir / 'sw.js'}: expected 'var SHELL = [...];' and '{_SHELL_CACHE}'"
        raise ConfigError(msg)
    digest = hashlib.sha256(text.encode())
    for url in re.findall(r'"([^"]+)"', listed.group(1)):
        digest.update(url.encode())
        digest.update(_shell_file(static_dir, url).read_bytes())
    name = f"waitless-shell-{digest.hexdigest()[:16]}"
    return text.replace(_SHELL_CACHE, f'var SHELL_CACHE = "{name}";').encode()


def _shell_file(static_dir: Path, url: str) -> Path:
    """The file a shell URL of ``sw.js`` is served from."""
    for prefix, folder in _URL_DIRS.items():
        if url.startswith(prefix) and (path := static_dir / folder / url[len(prefix):]).is_file():
            return path
    msg = f"sw.js caches {url}, which is not a file under {static_dir}"
    raise ConfigError(msg)


async def service_worker_handler(request: web.Request) -> web.Response:
    """``/sw.js``: served from the site root so its scope covers the patient page at ``/``."""
    return web.Response(body=request.app[SERVICE_WORKER], headers={
        "Content-Type": "text/javascript", "Cache-Control": "no-cache"})
