"""Reading and writing JSON, YAML and XML documents.

Each codec reads fast (orjson, libyaml's C loader, defusedxml) for everything that
only looks, and for a change reads the file again in a form it can write back:
YAML through ruamel's round-trip loader, which keeps comments, key order, quoting and
indentation; XML is rebuilt from its nodes and then given back, from the file, its
comments, processing instructions, namespace prefixes, sibling order and line breaks.
Both YAML readers resolve plain values alike (YAML 1.2, or 1.1 where the file says so),
so a value reads the same before and after a write. Every parse error names the file,
line and column; a document nested deeper than its readers and writers can take is
refused in one line.

This module holds what the codecs share and the registry of them; each format has a
module of its own (``json_codec``, ``yaml_codec``, ``xml_codec``), whose names are
importable from here as well.
"""

from __future__ import annotations

from typing import Any

from realnet.core.errors import ValidationError
from realnet.providers.documents.nodes import deeper_than


class Codec:
    name = "document"
    kind = "document"
    #: How deeply objects and lists may nest: every reader and writer of the format, and
    #: the copies and checks made of what they read, recurse a frame or three per level.
    max_depth = 400

    def load(self, data: bytes, source: str) -> Any:
        """The document for reading."""
        raise NotImplementedError

    def load_for_edit(self, data: bytes, source: str) -> Any:
        """The document in a form :meth:`dump` writes back faithfully."""
        return self.load(data, source)

    def dump(self, document: Any, original: bytes) -> bytes:
        raise NotImplementedError

    def top(self, document: Any) -> Any:
        """The object or list at the top of a loaded document."""
        return document

    def check_key(self, key: str, where: str, *, value: bool) -> None:
        """Refuse a name this format cannot hold."""

    def check_new(self, type_name: str, where: str) -> None:
        """Refuse a kind of node this format cannot hold."""

    def check_value(self, name: str, value: Any, where: str) -> None:
        """Refuse a value this format cannot hold."""

    def too_deep(self, source: str) -> ValidationError:
        return ValidationError(f"{source}: nested too deeply (more than {self.max_depth} levels)")

    def check_depth(self, document: Any, source: str, openers: int) -> None:
        """Refuse a document nested deeper than :attr:`max_depth`; ``openers`` bounds its
        depth from above (counted in its bytes, which is fast), so that only a file that may
        be that deep is walked."""
        if openers > self.max_depth and deeper_than(document, self.max_depth):
            raise self.too_deep(source)


def _check_top(document: Any, source: str, kind: str) -> Any:
    if not isinstance(document, dict | list):
        raise ValidationError(f"{source}: a mounted {kind} must hold an object or a list at the top, "
                              f"not {type(document).__name__}")
    return document


def same_line_breaks(data: bytes, original: bytes) -> bytes:
    """``data`` (written with ``\\n``) with the line breaks of ``original``: a file written on
    Windows keeps its ``\\r\\n`` on every line, not only on the lines left untouched."""
    first = original.find(b"\n")
    if first <= 0 or original[first - 1] != 0x0D:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


# The format modules build on the base above, so they are imported only once it is defined;
# the package imports this module first, so they always find it complete.
from realnet.providers.documents.json_codec import JsonCodec  # noqa: E402
from realnet.providers.documents.xml_codec import (  # noqa: E402
    TEXT,
    XmlCodec,
    element_node,
    own_text,
)
from realnet.providers.documents.yaml_codec import (  # noqa: E402
    MAX_EXPANDED,
    YamlCodec,
    fast_loader,
    guess_indent,
    yaml_version,
)

__all__ = [
    "CODECS",
    "MAX_EXPANDED",
    "TEXT",
    "Codec",
    "JsonCodec",
    "XmlCodec",
    "YamlCodec",
    "element_node",
    "fast_loader",
    "guess_indent",
    "own_text",
    "same_line_breaks",
    "yaml_version",
]

CODECS: dict[str, Codec] = {"json": JsonCodec(), "yaml": YamlCodec(), "xml": XmlCodec()}
