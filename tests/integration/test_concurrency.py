"""Several processes on one embedded store: nothing lost, no duplicates, one winner."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from realnet.app import open_context
from realnet.config import load_settings
from realnet.core.errors import AlreadyExists, Conflict


def _create_many(home: str, worker: int, count: int) -> int:
    context = open_context(load_settings({"REALNET_HOME": home}))
    try:
        for i in range(count):
            context.create(f"/shared/w{worker}-{i:03d}", "Folder")
        return count
    finally:
        context.provider.close()


def _race_for_name(home: str, barrier) -> str:
    context = open_context(load_settings({"REALNET_HOME": home}))
    try:
        barrier.wait()
        try:
            context.create("/shared/contested", "Folder")
            return "won"
        except AlreadyExists:
            return "lost"
    finally:
        context.provider.close()


def _update_with_version(home: str, barrier, title: str) -> str:
    context = open_context(load_settings({"REALNET_HOME": home}))
    try:
        barrier.wait()
        try:
            context.update("/shared/doc", {"title": title}, expected_version=1)
            return "won"
        except Conflict:
            return "conflict"
    finally:
        context.provider.close()


@pytest.fixture
def home(context, realnet_home):
    context.create("/shared", "Folder")
    context.create("/shared/doc", "Document", {"title": "start"})
    return str(realnet_home)


def spawn():
    return multiprocessing.get_context("spawn")


def test_parallel_creators_lose_nothing(home, context):
    with spawn().Pool(4) as pool:
        done = pool.starmap(_create_many, [(home, w, 25) for w in range(4)])
    assert done == [25] * 4
    names = [i.name for i in context.provider.iter_children("/shared")]
    assert len(names) == 101 and len(set(names)) == 101  # 100 new + the document


def test_unique_name_race_has_one_winner(home, context):
    ctx = spawn()
    with ctx.Manager() as manager:
        barrier = manager.Barrier(4)
        with ctx.Pool(4) as pool:
            results = pool.starmap(_race_for_name, [(home, barrier)] * 4)
    assert sorted(results) == ["lost", "lost", "lost", "won"]


def test_same_version_update_has_one_winner(home, context):
    ctx = spawn()
    with ctx.Manager() as manager:
        barrier = manager.Barrier(2)
        with ctx.Pool(2) as pool:
            results = pool.starmap(_update_with_version, [(home, barrier, "a"), (home, barrier, "b")])
    assert sorted(results) == ["conflict", "won"]
    item = context.get("/shared/doc")
    assert item.version == 2 and item.attributes["title"] in ("a", "b")
    assert os.path.exists(os.path.join(home, "realnet.db"))
