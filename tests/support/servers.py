"""Real storage servers on 127.0.0.1, started on free ports and stopped by their pid.

Each ``start_*`` returns a :class:`Server`: the process plus what a client needs to
reach it. The test suite's session fixtures and the benchmark scripts both use these.
Installing the servers is the Makefile's job (``make servers``).
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argo_artifact_driver.plugin_server.testing.processes import ManagedProcess, start_listening

#: Environment for every process that talks to the GCS emulator through gcsfs.
GCS_EMULATOR_ENV = {"GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}
#: Credentials of a throwaway moto server; the plugin finds them through the AWS SDK chain.
MOTO_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass
class Server:
    process: ManagedProcess
    port: int
    info: dict[str, Any] = field(default_factory=dict)
    #: Seconds between SIGTERM and SIGKILL.
    stop_timeout: float = 30.0

    @property
    def endpoint(self) -> str:
        """``host:port``: every test server listens on 127.0.0.1."""
        return f"127.0.0.1:{self.port}"

    def stop(self) -> int:
        return self.process.stop(self.stop_timeout)


def _venv_script(name: str) -> str:
    found = shutil.which(name, path=os.path.dirname(sys.executable))
    if not found:
        raise RuntimeError(f"{name} is not installed next to {sys.executable}: pip install -e '.[test]'")
    return found


def start_moto(log_dir: Path, name: str = "moto") -> Server:
    proc, port = start_listening(
        name, lambda port: [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], log_dir
    )
    return Server(proc, port, {"endpoint": f"127.0.0.1:{port}"})


def start_gcs_emulator(log_dir: Path) -> Server:
    script = _venv_script("gcp-storage-emulator")
    proc, port = start_listening(
        "gcs-emulator", lambda port: [script, "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory"],
        log_dir, env=GCS_EMULATOR_ENV,
    )
    return Server(proc, port, {"endpoint": f"http://127.0.0.1:{port}"})


def start_azurite(log_dir: Path, npm_dir: Path) -> Server:
    """Azurite's blob service, installed by ``npm ci`` in ``npm_dir`` (``make servers``)."""
    binary = npm_dir / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        raise RuntimeError(f"Azurite is not installed: run 'make servers' (npm ci in {npm_dir})")

    def argv(port: int) -> list[str]:
        data = log_dir / f"azurite-{port}"
        data.mkdir()
        return [str(binary), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(data),
                "--silent", "--skipApiVersionCheck"]

    proc, port = start_listening("azurite", argv, log_dir)
    # Azurite prints "successfully closed" on SIGTERM but its process lingers while a
    # client (the tests' own adlfs view) keeps a connection open: do not wait 30 s for it.
    return Server(proc, port, {"endpoint": f"http://127.0.0.1:{port}/devstoreaccount1"}, stop_timeout=3.0)


def start_s3rver(log_dir: Path, npm_dir: Path, name: str = "s3rver") -> Server:
    """s3rver, a second S3 server that keeps objects on disk and serves a ranged GET from
    disk (moto copies the whole object for each one), installed by ``npm ci`` in ``npm_dir``
    (``make servers``). It accepts the same credentials as moto (:data:`MOTO_ENV`)."""
    launcher = npm_dir / "s3rver.js"
    if not (npm_dir / "node_modules" / "s3rver").is_dir():
        raise RuntimeError(f"s3rver is not installed: run 'make servers' (npm ci in {npm_dir})")
    keys = [MOTO_ENV["AWS_ACCESS_KEY_ID"], MOTO_ENV["AWS_SECRET_ACCESS_KEY"]]

    def argv(port: int) -> list[str]:
        data = log_dir / f"{name}-{port}"
        data.mkdir()
        # s3rver encrypts ListObjectsV2 continuation tokens with DES, which Node >= 17
        # offers only through OpenSSL's legacy provider (else every truncated listing is a 500).
        return ["node", "--openssl-legacy-provider", str(launcher), str(port), str(data), *keys]

    proc, port = start_listening(name, argv, log_dir)
    return Server(proc, port, {"endpoint": f"127.0.0.1:{port}"}, stop_timeout=5.0)


SSHD = "/usr/sbin/sshd"


def start_sshd(log_dir: Path) -> Server:
    """OpenSSH on 127.0.0.1 with a throwaway host key, accepting one generated client key
    for the current user. As root it needs its privilege-separation directory; as anyone
    else it runs unprivileged and can log in only that user, which is all a test needs."""
    if not os.path.exists(SSHD):
        raise RuntimeError(f"{SSHD} is missing: run 'make servers' (apt-get install openssh-server)")
    home = log_dir / "sshd"
    home.mkdir(mode=0o700)
    host_key, client_key = home / "host_ed25519", home / "client_ed25519"
    for path in (host_key, client_key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    authorized = home / "authorized_keys"
    shutil.copy(f"{client_key}.pub", authorized)
    authorized.chmod(0o600)
    config = home / "sshd_config"

    def argv(port: int) -> list[str]:
        config.write_text(
            f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {host_key}\nAuthorizedKeysFile {authorized}\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
            "PermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\nPidFile none\n"
            "Subsystem sftp internal-sftp\nMaxStartups 100:30:200\nMaxSessions 100\nLogLevel ERROR\n"
        )
        return [SSHD, "-D", "-e", "-f", str(config)]

    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    proc, port = start_listening("sshd", argv, log_dir)
    return Server(proc, port, {"username": getpass.getuser(), "client_key": client_key})


def start_ftp(log_dir: Path, username: str = "argo", password: str = "throwaway") -> Server:
    """pyftpdlib serving a fresh directory to one user with write access."""
    served = log_dir / "ftp-root"
    served.mkdir()
    proc, port = start_listening(
        "ftp", lambda port: [sys.executable, "-m", "pyftpdlib", "-i", "127.0.0.1", "-p", str(port), "-w",
                             "-d", str(served), "-u", username, "-P", password], log_dir,
    )
    return Server(proc, port, {"username": username, "password": password, "served_dir": served})
