"""The caseworker web app under ``/caseworker``: server-rendered pages and plain HTML forms.

One module per area (account, queue, referral, supervisor, admin), sharing ``common`` (templates,
the request context, roles). Every page that shows a person's record writes an audit entry; every
state-changing request is checked against the session's CSRF token in one place
(``common.signed_in``; the login form against its own cookie); roles are checked per route
(``require``). Live updates are small JSON polls that return server-rendered, escaped HTML
fragments (``static/app.js``).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from bot.caseworker import i18n
from bot.caseworker.routes import account, admin, queue, referral, supervisor
from bot.caseworker.routes.common import (
    COOKIE,
    HERE,
    PREFIX,
    Forbidden,
    LoginRequired,
    render,
    templates,
    zone_named,
)
from bot.settings import Settings

__all__ = ["PREFIX", "install", "router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)
for _area in (account, queue, referral, supervisor, admin):
    router.include_router(_area.router)

# -- wiring --------------------------------------------------------------------------------

SECURITY_HEADERS = {
    # No inline script or style: an injected <script> could not run even if it escaped.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # personal data must not stay in shared browser caches
}


def install(app: FastAPI) -> None:
    """Adds the caseworker app and the integration API to the ASGI app."""
    from bot.caseworker import api

    settings: Settings = app.state.settings
    templates.globals["display_zone"] = zone_named(settings.display_timezone)
    app.include_router(router)
    app.include_router(api.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="caseworker-static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        path = request.url.path
        if path.startswith(PREFIX) or path.startswith(api.PREFIX):
            for name, header in SECURITY_HEADERS.items():
                if path.startswith(f"{PREFIX}/static") and name == "Cache-Control":
                    continue
                response.headers.setdefault(name, header)
        return response

    @app.exception_handler(LoginRequired)
    async def to_login(_request: Request, exc: LoginRequired) -> Response:
        query = "?expired=1" if exc.expired else ""
        response = RedirectResponse(f"{PREFIX}/login{query}", status_code=303)
        if exc.expired:
            response.delete_cookie(COOKIE, path="/")
        return response

    @app.exception_handler(Forbidden)
    async def forbidden(_request: Request, exc: Forbidden) -> Response:
        return render(
            "error.html", exc.language, exc.status, message=i18n.ui(exc.key, exc.language)
        )
