"""A throwaway PostgreSQL + PostGIS cluster for the tests: initdb in a temp folder, owned by
an unprivileged user when the tests run as root, listening on 127.0.0.1 at a free port
(password auth) and on a unix socket in the same temp folder; stopped and deleted after.

`make postgis` installs Debian's packages when they are missing; without them the
PostGIS tests skip with the reason found here.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote


@dataclass
class Cluster:
    root: Path
    bindir: Path
    port: int
    user: str
    password: str
    database: str
    runas: list[str]

    def url(self, *, password: bool = False, **params: str) -> str:
        auth = quote(self.user, safe="") + (f":{quote(self.password, safe='')}" if password else "")
        query = "&".join(f"{k}={quote(v, safe='.')}" for k, v in params.items())
        return (f"postgresql://{auth}@127.0.0.1:{self.port}/{self.database}"
                + (f"?{query}" if query else ""))

    def stop(self) -> None:
        subprocess.run([*self.runas, str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"),
                        "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


def find_postgis() -> tuple[Path | None, str]:
    """(bin folder of a PostgreSQL that has PostGIS, '') or (None, why not)."""
    initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                     key=lambda p: int(Path(p).parts[-3]), reverse=True)
    if not initdbs:
        return None, "PostgreSQL is not installed (make postgis installs it as root with apt)"
    for initdb in initdbs:
        version = Path(initdb).parts[-3]
        if glob.glob(f"/usr/share/postgresql/{version}/extension/postgis.control"):
            return Path(initdb).parent, ""
    return None, ("PostGIS is not installed for PostgreSQL "
                  f"{Path(initdbs[0]).parts[-3]} (make postgis installs it as root with apt)")


def start_cluster() -> tuple[Cluster | None, str]:
    """Start a cluster with a database ``gis`` holding PostGIS; (None, reason) if impossible."""
    bindir, why = find_postgis()
    if bindir is None:
        return None, why
    root = Path(tempfile.mkdtemp(prefix="nbhd_pg_"))
    runas: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        owner = "postgres"
        try:
            pw = pwd.getpwnam(owner)
        except KeyError:
            owner, pw = "nobody", pwd.getpwnam("nobody")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        runas = ["runuser", "-u", owner, "--"]
    password = "pw-" + secrets.token_hex(8)
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    if runas:
        os.chown(pwfile, pwd.getpwnam(runas[2]).pw_uid, -1)
    (root / "sock").mkdir()
    if runas:
        os.chown(root / "sock", pwd.getpwnam(runas[2]).pw_uid, -1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    init = subprocess.run(
        [*runas, str(bindir / "initdb"), "-D", str(root / "data"), "-U", "nbhd", "-E", "UTF8",
         "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256",
         f"--pwfile={pwfile}", "--no-sync"], capture_output=True, text=True, timeout=120)
    pwfile.unlink()
    if init.returncode:
        shutil.rmtree(root, ignore_errors=True)
        return None, f"initdb failed: {init.stderr.strip()[-300:]}"
    opts = (f"-c listen_addresses=127.0.0.1 -p {port} -k {root / 'sock'} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off")
    start = subprocess.run([*runas, str(bindir / "pg_ctl"), "-D", str(root / "data"), "-o", opts,
                            "-l", str(root / "log"), "-w", "-t", "60", "start"],
                           capture_output=True, text=True, timeout=120)
    cluster = Cluster(root, bindir, port, "nbhd", password, "gis", runas)
    if start.returncode:
        log = (root / "log").read_text() if (root / "log").exists() else start.stderr
        cluster.stop()
        return None, f"PostgreSQL did not start: {log.strip()[-300:]}"
    import psycopg

    try:
        with psycopg.connect(host="127.0.0.1", port=port, user="nbhd", password=password,
                             dbname="postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE gis")
        with psycopg.connect(host="127.0.0.1", port=port, user="nbhd", password=password,
                             dbname="gis", autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
    except psycopg.Error as exc:
        cluster.stop()
        return None, f"PostGIS could not be set up: {exc}"
    return cluster, ""
