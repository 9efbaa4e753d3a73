"""Where the PostgreSQL server binaries are, and who may run them."""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

SUPERUSER = "postgres"


class ClusterError(RuntimeError):
    """The cluster could not be set up, started, stopped or queried."""


def find_bindir() -> Path:
    """The server's bin directory: ``pg_config --bindir``, else the newest Debian install."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if found.returncode == 0:
            candidates.append(Path(found.stdout.strip()))
    debian = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted((Path(d) for d in debian), key=_version_key, reverse=True)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    raise ClusterError("no PostgreSQL server binaries (initdb, pg_ctl) found; install postgresql")


def postgres_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise ClusterError(
            "running as root needs a 'postgres' user to own the cluster; install postgresql"
        ) from None


def clean_env() -> dict[str, str]:
    """The environment without PG* variables, which would redirect the client tools."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


def _version_key(bindir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))
