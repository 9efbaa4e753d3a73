"""The dashboard at `/dashboard`: server-rendered pages, refreshed by htmx, no build step.

blueprint.py  the blueprint, who may do what (tokens from a header or the login cookie),
              cross-site POSTs refused, the security headers
pages.py      the overview, the task list, a task, the bulk retry's confirmation
actions.py    cancel, retry, retry every failed task of a filter
login.py      the login form that keeps the token in an HttpOnly cookie
overview.py   what the overview shows, read from the store
chart.py      the throughput of the last hour as SVG bars
filters.py    the task list's filter, read from and written to the query string
"""

from . import actions, login, pages
from .blueprint import dashboard

__all__ = ["actions", "dashboard", "login", "pages"]
