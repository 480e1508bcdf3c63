"""Item names and paths: one set of rules for every provider and every face.

A path is absolute, ``/``-separated, without empty segments, ``.`` or ``..``.
Relative paths, ``~`` and ``-`` are the shell's business: :func:`resolve`
turns them into absolute paths before anything reaches a provider.
"""

from __future__ import annotations

import re

from realnet.core.errors import InvalidName, InvalidPath

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: What a message must not print raw: control characters (a newline would split the line)
#: and the surrogates Python keeps bytes that are not UTF-8 in.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

MAX_NAME_BYTES = 255
ROOT = "/"


def check_name(name: str, *, where: str | None = None) -> str:
    """Return ``name`` if it is a valid item name, else raise :class:`InvalidName`."""
    label = where or repr(name)
    if not name:
        raise InvalidName(f"{label}: a name must not be empty")
    if name in (".", ".."):
        raise InvalidName(f"{label}: '.' and '..' are not allowed as names")
    if "/" in name:
        raise InvalidName(f"{label}: a name must not contain '/'")
    if "\x00" in name:
        raise InvalidName(f"{label}: a name must not contain NUL")
    control = _CONTROL.search(name)
    if control:
        raise InvalidName(
            f"{label}: a name must not contain control characters (found {control.group()!r})"
        )
    bad = undecodable(name)
    if bad:
        raise InvalidName(f"{escaped(label)}: a name must be UTF-8 text (found {bad})")
    # Only long names can exceed the limit in bytes.
    size = len(name.encode("utf-8")) if len(name) * 4 > MAX_NAME_BYTES else 0
    if size > MAX_NAME_BYTES:
        raise InvalidName(
            f"{label[:60]}…: a name may have at most {MAX_NAME_BYTES} bytes of UTF-8 (got {size})"
        )
    return name


def undecodable(text: str) -> str | None:
    """What keeps ``text`` from being stored as UTF-8, or None: a byte that was not UTF-8
    where the text was read (Python keeps it as a surrogate escape), or a lone surrogate."""
    if text.isascii():
        return None
    found = _SURROGATE.search(text)
    if found is None:
        return None
    code = ord(found.group())
    if 0xDC80 <= code <= 0xDCFF:
        return f"the byte 0x{code - 0xDC00:02x}, which is not UTF-8"
    return f"a lone surrogate U+{code:04X}"


def escaped(text: str) -> str:
    """``text`` on one printable line, so that a message naming it can be printed anywhere:
    control characters, undecodable bytes and surrogates written as escapes."""
    def escape(found: re.Match[str]) -> str:
        code = ord(found.group())
        return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else repr(found.group())[1:-1]

    return _UNPRINTABLE.sub(escape, text)


def split(path: str) -> list[str]:
    """The segments of an absolute, normalised path (``[]`` for the root)."""
    return [s for s in path.split("/") if s]


def join(parent: str, name: str) -> str:
    return f"/{name}" if parent == ROOT else f"{parent}/{name}"


def parent_of(path: str) -> str:
    if path == ROOT:
        return ROOT
    head = path.rsplit("/", 1)[0]
    return head or ROOT


def name_of(path: str) -> str:
    return "" if path == ROOT else path.rsplit("/", 1)[1]


def depth_of(path: str) -> int:
    return 0 if path == ROOT else path.count("/")


def is_within(path: str, ancestor: str) -> bool:
    """True when ``path`` is ``ancestor`` or lies below it."""
    if ancestor == ROOT:
        return True
    return path == ancestor or path.startswith(ancestor + "/")


def normalize(path: str) -> str:
    """Check an absolute path and return it in canonical form."""
    if not path.startswith("/"):
        raise InvalidPath(f"{path!r}: expected an absolute path starting with '/'")
    if "\x00" in path:
        raise InvalidPath(f"{path!r}: a path must not contain NUL")
    parts = split(path)
    for part in parts:
        if part in (".", ".."):
            raise InvalidPath(f"{path}: '.' and '..' are not allowed here")
        check_name(part, where=path)
    return "/" + "/".join(parts)


def resolve(path: str, cwd: str = ROOT, *, home: str | None = None, previous: str | None = None) -> str:
    """Resolve a shell-style path (relative, ``.``, ``..``, ``~``, ``-``) against ``cwd``."""
    if path == "" or path is None:
        return cwd
    if "\x00" in path:
        raise InvalidPath(f"{path!r}: a path must not contain NUL")
    if path == "-":
        if previous is None:
            raise InvalidPath("-: no previous folder yet")
        return previous
    if path == "~" or path.startswith("~/"):
        if home is None:
            raise InvalidPath(f"{path}: no home folder for this identity")
        path = home + path[1:]
    base = [] if path.startswith("/") else split(cwd)
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if base:
                base.pop()
            continue
        check_name(part, where=path)
        base.append(part)
    return "/" + "/".join(base)


def has_glob(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def url_quoted(path: str) -> str:
    """``path`` with each segment percent-encoded, for URLs and Location headers."""
    from urllib.parse import quote

    return "/" + "/".join(quote(segment, safe="") for segment in split(path))
