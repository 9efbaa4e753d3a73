"""The schedules that $SCHEDULES lists (a JSON list of `schedule()` keyword arguments), for
the end-to-end tests to choose what a real server declares."""

from __future__ import annotations

import json
import os

from service import schedule

for declared in json.loads(os.environ.get("SCHEDULES", "[]")):
    schedule(**declared)
