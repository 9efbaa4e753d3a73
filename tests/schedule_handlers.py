"""Schedules the tests load through SERVICE_HANDLERS, as a user's module declares them."""

from __future__ import annotations

from service import schedule

schedule("every-second", type="echo", every=1, payload={"note": "hello"})
schedule("nightly", type="echo", cron="0 3 * * *", timezone="Europe/Paris")
