"""The footer's pages (how it works, privacy, accessibility) and the offline service worker."""

from __future__ import annotations

from aiohttp import web

from waitless.api import keys
from waitless.api.render import STATIC_DIR, render

INFO_PAGES = {
    "how-it-works": "How rankings and predictions work",
    "privacy": "Privacy notice",
    "accessibility": "Accessibility statement",
}


def info_handler(name: str):
    """A handler rendering ``templates/info/<name>.html`` inside the page layout."""

    async def handler(request: web.Request) -> web.Response:
        return render(request, "info/page.html",
                      {"region_title": request.app[keys.REGION].title, "name": name,
                       "title": INFO_PAGES[name]})

    return handler


async def service_worker_handler(request: web.Request) -> web.FileResponse:
    """``/sw.js``: served from the site root so its scope covers the patient page at ``/``."""
    return web.FileResponse(STATIC_DIR / "sw.js", headers={
        "Content-Type": "text/javascript", "Cache-Control": "no-cache"})
