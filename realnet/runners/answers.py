"""Answers to reads, reused while the store has not changed since they were made.

A read's answer (an item, a page of children) depends on the store's rows and on who
asks. The store gives a change marker (``Provider.change_marker``): a value that differs
after any committed write, by anyone, in any process. An answer is kept with the marker
read before the rows it was built from; it is given again only to the same principal and
only while the marker is still the same, so every answer is as fresh as a new read. A
store whose marker is ``None`` (mounts, whose files change outside the store) is never
cached.

The cache holds encoded answers only (secrets already redacted; revealed values never
enter it), is bounded in bytes, and drops the least recently used answer first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, NamedTuple

#: An answer larger than this share of the budget is not kept (it would push out many).
LARGEST_SHARE = 16


class Answer(NamedTuple):
    status: int
    body: bytes
    headers: dict[str, str]


class AnswerCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self.hits = 0
        self.misses = 0
        self._answers: OrderedDict[Hashable, tuple[Any, Answer]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._answers)

    def get(self, key: Hashable, marker: Any) -> Answer | None:
        """The answer kept for ``key`` if it was made at ``marker``."""
        kept = self._answers.get(key)
        if kept is None or kept[0] != marker:
            self.misses += 1
            return None
        self._answers.move_to_end(key)
        self.hits += 1
        return kept[1]

    def put(self, key: Hashable, marker: Any, answer: Answer) -> None:
        size = len(answer.body)
        if size * LARGEST_SHARE > self.max_bytes:
            return
        old = self._answers.pop(key, None)
        if old is not None:
            self.used -= len(old[1].body)
        self._answers[key] = (marker, answer)
        self.used += size
        while self.used > self.max_bytes:
            _, (_, dropped) = self._answers.popitem(last=False)
            self.used -= len(dropped.body)
