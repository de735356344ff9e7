"""Ports: is one free before we start a server on it, and which process listens on it.

``intake run`` refuses to start when a port it needs is taken (a previous run's Rasa still up
would otherwise answer in place of the new one), and ``/healthz`` checks that the process
answering on Rasa's and the action server's ports is the one ``intake run`` started. Which
process holds a listening socket is read from ``/proc`` (Linux); elsewhere the answer is
"unknown" and only the HTTP checks apply.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp


class PortInUse(RuntimeError):
    """A port a server needs is taken; the message says which, by whom if known, and what to do."""


@dataclass(frozen=True)
class Need:
    setting: str  # the variable that sets the port, for the message (APP_PORT...)
    host: str
    port: int


def connect_host(host: str) -> str:
    """The address to reach a server listening on ``host`` from this machine."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (like uvicorn's own: SO_REUSEADDR, so a port in
    TIME_WAIT is reusable but one another process listens on is not)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(False)
    return sock


def require_free(needs: list[Need]) -> None:
    """Raise ``PortInUse`` naming every port of ``needs`` that cannot be bound now."""
    problems = []
    for need in needs:
        try:
            bind(need.host, need.port).close()
        except OSError as exc:
            holders = ", ".join(describe(pid) for pid in sorted(listener_pids(need.port) or ()))
            who = f" by {holders}" if holders else ""
            problems.append(
                f"port {need.port} ({need.setting}) on {need.host} is already in use{who} "
                f"[{exc.strerror}]: stop that process (a previous `intake run` still running?) "
                f"or set {need.setting} to a free port"
            )
    if problems:
        raise PortInUse("cannot start:\n" + "\n".join(f"  - {p}" for p in problems))


def describe(pid: int) -> str:
    try:
        args = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
        name = Path(args[0].decode(errors="replace")).name
        first = next((a.decode(errors="replace") for a in args[1:3] if a), "")
    except OSError:
        return f"pid {pid}"
    return f"pid {pid} ({name} {first})".replace(" )", ")")


def listening_inodes(port: int) -> set[int]:
    """Inodes of the TCP sockets listening on ``port`` (any address), from /proc/net."""
    inodes: set[int] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) <= 9 or fields[3] != _LISTEN:
                continue
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(int(fields[9]))
    return inodes


def _socket_inodes(pid: int) -> set[int]:
    found = set()
    try:
        entries = os.listdir(PROC / str(pid) / "fd")
    except OSError:
        return found
    for entry in entries:
        try:
            target = os.readlink(PROC / str(pid) / "fd" / entry)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(int(target[8:-1]))
    return found


def process_tree(pid: int) -> set[int]:
    """``pid`` and its descendants (Linux: /proc/<pid>/task/*/children)."""
    seen, todo = set(), [pid]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for task in (PROC / str(current) / "task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return seen


def listener_pids(port: int) -> set[int] | None:
    """Processes of this user holding a socket that listens on ``port``; None when /proc
    cannot tell (not Linux)."""
    if not (PROC / "net" / "tcp").exists():
        return None
    inodes = listening_inodes(port)
    if not inodes:
        return set()
    pids = set()
    for entry in os.listdir(PROC):
        if entry.isdigit() and _socket_inodes(int(entry)) & inodes:
            pids.add(int(entry))
    return pids


def tree_sockets(root_pid: int) -> set[int]:
    """Inodes of the sockets ``root_pid`` and its descendants hold (cheap: their fd tables)."""
    found: set[int] = set()
    for pid in process_tree(root_pid):
        found |= _socket_inodes(pid)
    return found


def listener_is_in_tree(port: int, root_pid: int) -> bool | None:
    """Does the process listening on ``port`` belong to ``root_pid``'s tree? True / False;
    None when /proc cannot tell."""
    return (
        listeners_in_tree(port, root_pid) is not None if (PROC / "net" / "tcp").exists() else None
    )


def listeners_in_tree(port: int, root_pid: int) -> set[int] | None:
    """The inodes of ``root_pid``'s tree's sockets listening on ``port``; None if none (or no
    /proc). Reading /proc/net/tcp costs tens of ms on a busy machine: callers keep the answer
    and check later with ``tree_sockets`` alone (a listening socket its owner still holds is
    still the listener: nobody else can listen on that port meanwhile)."""
    if not (PROC / "net" / "tcp").exists():
        return None
    ours = listening_inodes(port) & tree_sockets(root_pid)
    return ours or None
