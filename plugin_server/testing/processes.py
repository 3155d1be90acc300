"""Starting and stopping the servers tests talk to, by the pid the suite started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Sequence


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on TCP ``port`` (Linux: /proc/net/tcp and tcp6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                        inodes.add(fields[9])
        except FileNotFoundError:
            continue
    return inodes


def session_holds_socket(session: int, inodes: set[str]) -> bool:
    """Whether a process of session ``session`` holds one of the socket ``inodes``."""
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.getsid(int(pid)) != session:
                continue
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                    return True
        except OSError:  # the process ended, or is not ours to look into
            continue
    return False


class ManagedProcess:
    """A child process with its output in a log file; stopped by its own pid only."""

    def __init__(self, name: str, argv: Sequence[str], log_dir: Path, env: dict | None = None, cwd: str | None = None) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            list(argv), stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True,
        )

    def wait_until(self, ready: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.output()[-4000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} not ready after {timeout}s:\n{self.output()[-4000:]}")
            time.sleep(0.05)

    def wait_listening(self, port: int, timeout: float = 60.0) -> None:
        """Wait until *this* process (or one it started) listens on ``port``.

        A port picked free can be taken by another test run before the server binds it;
        checking only that the port answers would then test against someone else's server."""
        self.wait_until(
            lambda: port_open(port) and session_holds_socket(self.proc.pid, listening_inodes(port)), timeout
        )

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def signal(self, signum: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def start_listening(
    name: str, argv_for: Callable[[int], Sequence[str]], log_dir: Path, attempts: int = 3, **kwargs: object
) -> tuple[ManagedProcess, int]:
    """Start a server on a free port (``argv_for(port)``) and wait until it listens there;
    on a port taken meanwhile, try another. Returns the process and its port."""
    for attempt in range(1, attempts + 1):
        port = free_port()
        proc = ManagedProcess(name if attempt == 1 else f"{name}-{attempt}", argv_for(port), log_dir, **kwargs)
        try:
            proc.wait_listening(port)
            return proc, port
        except RuntimeError:
            proc.stop(5)
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")
