"""Concurrent writers on PostgreSQL: moving or deleting a folder while others create inside it
leaves a consistent tree (every item's path is its parent's path and its name) and no raw
database error."""

from __future__ import annotations

import contextlib
import threading

import psycopg
import pytest

from realnet.app import open_context
from realnet.config import load_settings
from realnet.core.errors import AlreadyExists, Conflict, NotFound

FOLDERS = 5
ROUNDS = 60


def pg_context(home: str, url: str):
    settings = load_settings({"REALNET_HOME": home, "REALNET_DB_TYPE": "postgresql", "REALNET_DB_URL": url})
    return open_context(settings)


def misplaced(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT c.path, p.path FROM items c JOIN items p ON p.id = c.parent_id "
            "WHERE c.path <> (CASE WHEN p.path = '/' THEN '' ELSE p.path END) || '/' || c.name").fetchall()


def run_together(*jobs) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(job):
        try:
            job()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return errors


@pytest.fixture
def race(pg_schema, tmp_path):
    context = pg_context(str(tmp_path / "h0"), pg_schema)
    context.create("/race", "Folder")
    context.create("/race/f0", "Folder")
    yield context
    context.provider.close()


def creator(url: str, home: str, tag: str):
    def job() -> None:
        context = pg_context(home, url)
        try:
            for n in range(ROUNDS * 3):
                # The folder may be gone at that moment: an answer, not a fault.
                with contextlib.suppress(NotFound, AlreadyExists, Conflict):
                    context.create(f"/race/f{n % FOLDERS}/{tag}{n}", "Folder")
        finally:
            context.provider.close()
    return job


def test_moving_a_folder_while_others_create_in_it(race, pg_schema, tmp_path):
    """One folder keeps moving (/race/f0 → f1 → f2 …) while three writers create inside
    whichever name it has at that moment."""
    moving = threading.Event()
    moving.set()

    def mover() -> None:
        context = pg_context(str(tmp_path / "hm"), pg_schema)
        try:
            for n in range(ROUNDS):
                context.move(f"/race/f{n}", f"/race/f{n + 1}")
        finally:
            moving.clear()
            context.provider.close()

    def follower(tag: str):
        def job() -> None:
            context = pg_context(str(tmp_path / f"h{tag}"), pg_schema)
            try:
                n = 0
                while moving.is_set():
                    n += 1
                    folder = context.provider.children("/race").items[0].path
                    with contextlib.suppress(NotFound, Conflict):  # moved away meanwhile
                        context.create(f"{folder}/{tag}{n}", "Folder")
            finally:
                context.provider.close()
        return job

    errors = run_together(mover, follower("x"), follower("y"), follower("z"))
    assert errors == [], [str(e) for e in errors]
    assert misplaced(pg_schema) == []
    assert race.delete("/race", recursive=True) >= 2


def test_deleting_a_folder_while_others_create_in_it(race, pg_schema, tmp_path):
    def deleter() -> None:
        context = pg_context(str(tmp_path / "hd"), pg_schema)
        try:
            for n in range(ROUNDS):
                with contextlib.suppress(AlreadyExists):
                    context.create(f"/race/f{n % FOLDERS}", "Folder")
                with contextlib.suppress(NotFound, Conflict):
                    context.delete(f"/race/f{n % FOLDERS}", recursive=True)
        finally:
            context.provider.close()

    errors = run_together(deleter, creator(pg_schema, str(tmp_path / "hx"), "x"),
                          creator(pg_schema, str(tmp_path / "hy"), "y"))
    assert errors == [], [str(e) for e in errors]
    assert misplaced(pg_schema) == []
