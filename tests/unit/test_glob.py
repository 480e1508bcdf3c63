"""Globs mean the same on every store: SQLite runs them through GLOB, PostgreSQL through a
regular expression. Both translations must agree with each other and with shell habits."""

from __future__ import annotations

import re
import sqlite3

import pytest

from realnet.providers.sql.cursors import sqlite_glob
from realnet.providers.sql.postgresql import glob_to_regex

NAMES = ["notes", "no", "No", "nope.txt", "a.b", "a+b", "x[1]", "file_1", "file-2", "ünï", "a b", "", "n", "!x"]
PATTERNS = ["no*", "*", "n?", "*.txt", "a.b", "a+b", "file[_-]?", "[!n]*", "[^n]*", "[a-c]*", "*ï",
            "a b", "[]]", "no", "?", "!*"]


def sqlite_matches(name: str, pattern: str) -> bool:
    conn = sqlite3.connect(":memory:")
    return conn.execute("SELECT ? GLOB ?", (name, sqlite_glob(pattern))).fetchone()[0] == 1


@pytest.mark.parametrize("pattern", PATTERNS)
def test_both_translations_agree(pattern):
    regex = re.compile(glob_to_regex(pattern))
    for name in NAMES:
        assert bool(regex.search(name)) == sqlite_matches(name, pattern), (pattern, name)


@pytest.mark.parametrize(
    ("pattern", "matching"),
    [
        ("no*", {"notes", "no", "nope.txt"}),
        ("[!n]*", {"No", "a.b", "a+b", "x[1]", "file_1", "file-2", "ünï", "a b", "!x"}),
        ("file[_-]?", {"file_1", "file-2"}),
        ("a.b", {"a.b"}),
        ("?", {"n"}),
    ],
)
def test_shell_meaning(pattern, matching):
    assert {n for n in NAMES if sqlite_matches(n, pattern)} == matching
