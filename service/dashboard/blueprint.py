"""The dashboard's blueprint, and who may do what on it.

With tokens set, a request needs a read or a write token, from `Authorization: Bearer` or
from the cookie that the login form sets (HttpOnly, SameSite=Strict); a browser without one
is sent to the login form. Changes (POST) need a write token. A POST from another site is
refused whatever it carries: its Sec-Fetch-Site, or else its Origin, must be this site's.
With no tokens set, the dashboard is as open as the rest of the API.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from quart import Blueprint, Response, current_app, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as Redirect

from ..auth import READ_METHODS, Role, TokenGuard, bearer
from ..core import TaskService

Answer = Response | Redirect
"""A page, or a redirect to one."""
COOKIE = "service_token"
OPEN_ENDPOINTS = frozenset({"dashboard.static", "dashboard.login_form", "dashboard.login"})
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

dashboard = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="../static/dashboard",
    static_url_path="/assets",
)


def task_service() -> TaskService:
    service: TaskService = current_app.extensions["task_service"]
    return service


def role_of(token: bytes | None) -> Role | None:
    """What the token may do; `write` for anyone when no token is set."""
    guard: TokenGuard = current_app.extensions["token_guard"]
    if not guard.tokens.required:
        return "write"
    return None if token is None else guard.tokens.role(token)


def role_of_request() -> Role | None:
    """What the request's token may do, from its Authorization header or its cookie."""
    token = bearer(request.headers.get("Authorization", "").encode())
    if token is None:
        token = request.cookies.get(COOKIE, "").encode() or None
    return role_of(token)


def same_site() -> bool:
    """Whether the request comes from this site's own pages (or from no browser at all)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


async def page(template: str, status: int = 200, **context: Any) -> Response:
    body = await render_template(f"dashboard/{template}", **context)
    return Response(body, status, content_type="text/html; charset=utf-8")


@dashboard.before_request
async def check_access() -> Any:
    writes = request.method not in READ_METHODS
    if writes and not same_site():
        return await page("error.html", 403, message="A request from another site is refused.")
    guard: TokenGuard = current_app.extensions["token_guard"]
    g.login = guard.tokens.required
    g.role = role_of_request()
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if g.role is None:
        if not writes:
            query = request.query_string.decode()
            target = f"{request.path}?{query}" if query else request.path
            return redirect(url_for("dashboard.login_form", next=target))
        return await page("error.html", 401, message="Log in first.")
    if writes and g.role != "write":
        return await page("error.html", 403, message="A read token cannot change anything.")
    return None


@dashboard.after_request
async def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@dashboard.app_template_filter("age")
def age(seconds: float | None) -> str:
    """A duration as people say it: 42 s, 3 min, 5 h, 2 d."""
    if seconds is None:
        return "–"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


@dashboard.app_template_filter("when")
def when(timestamp: float | None) -> str:
    if timestamp is None:
        return "–"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
