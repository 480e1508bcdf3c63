"""Container logs the tests write, read back through pods/log (tail, since, follow, previous)."""

from __future__ import annotations

import asyncio
import datetime
import threading

from .state import Subscriber

LogKey = tuple[str, str, str, bool]  # (namespace, pod, container, previous)


class PodLogs:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lines: dict[LogKey, list[tuple[datetime.datetime, str]]] = {}
        self.ended: set[LogKey] = set()
        self.followers: dict[LogKey, set[Subscriber]] = {}

    def set(self, key: LogKey, text: str) -> None:
        with self.lock:
            self.lines[key] = []
            self.ended.discard(key)
        self.append(key, text)

    def append(self, key: LogKey, text: str) -> None:
        stamp = datetime.datetime.now(datetime.UTC)
        new = [(stamp, line) for line in text.splitlines()]
        with self.lock:
            self.lines.setdefault(key, []).extend(new)
            followers = list(self.followers.get(key, ()))
        for follower in followers:
            for entry in new:
                follower.push(entry)

    def end(self, key: LogKey) -> None:
        """The container stopped: followers of this log reach the end."""
        with self.lock:
            self.ended.add(key)
            followers = list(self.followers.get(key, ()))
        for follower in followers:
            follower.push(None)

    def end_pod(self, namespace: str, pod: str) -> None:
        for key in [k for k in list(self.lines) if k[:2] == (namespace, pod)]:
            self.end(key)

    def has(self, key: LogKey) -> bool:
        return key in self.lines

    def read(self, key: LogKey, *, tail: int | None, since: float | None,
             loop: asyncio.AbstractEventLoop | None = None
             ) -> tuple[list[tuple[datetime.datetime, str]], Subscriber | None]:
        """The lines to send now and, to follow, the subscription that gets the later ones
        (None when the container already stopped)."""
        with self.lock:
            lines = list(self.lines.get(key, []))
            sub = None
            if loop is not None and key not in self.ended:
                sub = Subscriber(loop, key)
                self.followers.setdefault(key, set()).add(sub)
        if since is not None:
            start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=since)
            lines = [entry for entry in lines if entry[0] >= start]
        if tail is not None:
            lines = lines[-tail:] if tail > 0 else []
        return lines, sub

    def unfollow(self, sub: Subscriber) -> None:
        with self.lock:
            self.followers.get(sub.key, set()).discard(sub)  # type: ignore[arg-type]

    def stop_all(self) -> None:
        with self.lock:
            followers = [f for group in self.followers.values() for f in group]
        for follower in followers:
            follower.push(None)


def render(entry: tuple[datetime.datetime, str], timestamps: bool) -> bytes:
    stamp, line = entry
    if timestamps:
        return f"{stamp.strftime('%Y-%m-%dT%H:%M:%S.%fZ')} {line}\n".encode()
    return f"{line}\n".encode()
