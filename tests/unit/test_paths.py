import pytest

from realnet.core import paths
from realnet.core.errors import InvalidName, InvalidPath


@pytest.mark.parametrize("name", ["a", "notes.txt", "ünï cödé", "x" * 255, "a b", "-dash"])
def test_valid_names(name):
    assert paths.check_name(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "must not be empty"),
        (".", "'.' and '..'"),
        ("..", "'.' and '..'"),
        ("a/b", "must not contain '/'"),
        ("a\x00b", "must not contain NUL"),
        ("tab\there", "control characters"),
        ("new\nline", "control characters"),
        ("del\x7f", "control characters"),
        ("é" * 128, "at most 255 bytes"),
    ],
)
def test_invalid_names(name, message):
    with pytest.raises(InvalidName, match=message):
        paths.check_name(name)


def test_normalize_rejects_relative_and_dots():
    assert paths.normalize("/a//b/") == "/a/b"
    with pytest.raises(InvalidPath, match="absolute"):
        paths.normalize("a/b")
    with pytest.raises(InvalidPath, match="'.' and '..'"):
        paths.normalize("/a/../b")


def test_resolve_relative_home_and_previous():
    assert paths.resolve("b", "/a") == "/a/b"
    assert paths.resolve("..", "/a/b") == "/a"
    assert paths.resolve("../..", "/a") == "/"
    assert paths.resolve(".", "/a") == "/a"
    assert paths.resolve("~/x", "/", home="/home/admin") == "/home/admin/x"
    assert paths.resolve("-", "/a", previous="/b") == "/b"
    with pytest.raises(InvalidPath, match="no previous folder"):
        paths.resolve("-", "/a")


def test_parent_name_depth_within():
    assert paths.parent_of("/a/b") == "/a"
    assert paths.parent_of("/a") == "/"
    assert paths.name_of("/a/b") == "b"
    assert paths.depth_of("/") == 0
    assert paths.depth_of("/a/b") == 2
    assert paths.is_within("/a/b", "/a")
    assert not paths.is_within("/ab", "/a")
    assert paths.is_within("/anything", "/")
