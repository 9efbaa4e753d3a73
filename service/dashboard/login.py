"""The login form: it keeps the token in an HttpOnly, SameSite=Strict cookie, so that a
browser sends it to the dashboard and to nothing else, and no script can read it."""

from __future__ import annotations

from quart import g, redirect, request, url_for

from .blueprint import COOKIE, Answer, dashboard, page, role_of


def safe_next(target: str) -> str:
    """Where to go after logging in: a dashboard page, never another site."""
    if target.startswith("/dashboard") and not target.startswith("//"):
        return target
    return url_for("dashboard.overview")


@dashboard.get("/login")
async def login_form() -> Answer:
    target = safe_next(request.args.get("next", ""))
    if g.role is not None:
        return redirect(target, 303)
    return await page("login.html", next=target)


@dashboard.post("/login")
async def login() -> Answer:
    form = await request.form
    target = safe_next(form.get("next", ""))
    token = form.get("token", "").strip()
    if not token or role_of(token.encode()) is None:
        # 200, as a form shown again: the browser would log a 401 as a failed load.
        return await page("login.html", next=target, error="That token is not valid.")
    response = redirect(target, 303)
    response.set_cookie(
        COOKIE,
        token,
        path="/dashboard",
        httponly=True,
        samesite="Strict",
        secure=request.scheme == "https",
    )
    return response


@dashboard.post("/logout")
async def logout() -> Answer:
    response = redirect(url_for("dashboard.login_form"), 303)
    response.delete_cookie(COOKIE, path="/dashboard", httponly=True, samesite="Strict")
    return response
