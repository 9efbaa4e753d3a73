"""A handler module whose schedule cannot run: start-up must stop and name it."""

from service import schedule

schedule("broken", type="echo", cron="0 25 * * *")
