"""Schedules the tests load through SERVICE_HANDLERS, as a user's module declares them.

In-process tests load the fixed ones below; a real server given $SCHEDULES (a JSON list of
`schedule()` keyword arguments) declares those too, so that an end-to-end test can choose.
"""

from __future__ import annotations

import json
import os

from service import schedule

schedule("every-second", type="echo", every=1, payload={"note": "hello"})
schedule("nightly", type="echo", cron="0 3 * * *", timezone="Europe/Paris")

for declared in json.loads(os.environ.get("SCHEDULES", "[]")):
    schedule(**declared)
