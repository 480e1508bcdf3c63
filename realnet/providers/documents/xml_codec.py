"""The XML codec: read with defusedxml (no entities, nothing external), elements made nodes;
written by rebuilding the elements from the nodes and giving back, from the file, its
comments, processing instructions, namespace prefixes, sibling order and line breaks
(:mod:`realnet.providers.documents.xml_layout`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from realnet.core.errors import InvalidName, ValidationError
from realnet.providers.documents.codecs import Codec, same_line_breaks

_XML_NAME = re.compile(r"(\{[^{}]*\})?[A-Za-z_][\w.\-]*(:[A-Za-z_][\w.\-]*)?")
TEXT = "#text"


class XmlCodec(Codec):
    """Elements are objects; ``@name`` keys are XML attributes; elements with only text
    are values; repeated elements are lists; ``#text`` is an element's own text."""

    name = "xml"
    kind = "XML document"

    def load(self, data: bytes, source: str) -> Any:
        import defusedxml
        from defusedxml.ElementTree import ParseError, fromstring

        try:
            root = fromstring(data)
        except ParseError as e:
            line, column = getattr(e, "position", (0, 0))
            message = str(e).split(":")[0]
            raise ValidationError(f"{source}: not valid XML: {message} (line {line}, column {column + 1})"
                                  ) from None
        except defusedxml.DefusedXmlException as e:
            raise ValidationError(f"{source}: refused: the XML declares entities or refers to external "
                                  f"resources, which are not read ({type(e).__name__})") from None
        try:
            node = element_node(root, limit=self.max_depth)
        except _TooDeep:
            raise self.too_deep(source) from None
        return {"tag": root.tag, "node": node,
                "declaration": data.removeprefix(_BOM).lstrip().startswith(b"<?xml")}

    def dump(self, document: Any, original: bytes) -> bytes:
        """The elements written again, keeping from ``original`` its comments and processing
        instructions (before, inside and after the root element), the order of sibling
        elements, and where an unchanged element's text sat between its children."""
        from xml.etree import ElementTree as ET

        from realnet.providers.documents.xml_layout import as_written, carry_over, with_prefixes

        root = _node_element(document["tag"], document["node"], ET)
        before = after = ""
        kept = as_written(original)
        space = _xml_indent(original.replace(b"\r\n", b"\n"))
        paired: dict[int, Any] = {}
        if kept is not None and kept.root.tag == root.tag:
            carry_over(kept.root, root, level=0, space=space, pretty="\n" in (kept.root.text or ""),
                       paired=paired)
            before, after = kept.before, kept.after
        else:
            ET.indent(root, space=space)
        if kept is not None and kept.declared:
            paired.setdefault(id(root), kept.root)  # a root renamed keeps its declarations
            with_prefixes(root, {new: kept.declared[id(old)] for new, old in paired.items()
                                 if id(old) in kept.declared})
        text = before + ET.tostring(root, encoding="unicode") + after
        if document.get("declaration"):
            text = _declaration(original) + "\n" + text
        data = (text + "\n").encode("utf-8")
        if original.startswith(_BOM):
            data = _BOM + data
        return same_line_breaks(data, original)

    def top(self, document: Any) -> Any:
        return document["node"]

    def check_new(self, type_name: str, where: str) -> None:
        if type_name == "DocumentList":
            raise ValidationError(f"{where}: XML has no list of its own (repeated elements read as "
                                  "one); create the elements as DocumentObjects of their own names")

    def check_key(self, key: str, where: str, *, value: bool) -> None:
        name = key[1:] if value and key.startswith("@") else key
        if value and key == TEXT:
            return
        if not _XML_NAME.fullmatch(name):
            raise InvalidName(f"{where}: {name!r} is not a valid XML name")


_BOM = b"\xef\xbb\xbf"
_DECLARATION = re.compile(rb"\s*(<\?xml\b[^>]*\?>)")
_ENCODING = re.compile(r"""\bencoding\s*=\s*["']([^"']*)["']""")


def _declaration(original: bytes) -> str:
    """The file's XML declaration, as it was if it declares UTF-8, which it is written in."""
    match = _DECLARATION.match(original.removeprefix(_BOM))
    if match:
        declaration = match.group(1).decode("utf-8", errors="replace")
        encoding = _ENCODING.search(declaration)
        if encoding is None or encoding.group(1).lower().replace("_", "-") in ("utf-8", "utf8"):
            return declaration
    return '<?xml version="1.0" encoding="UTF-8"?>'


def _xml_indent(original: bytes) -> str:
    match = re.search(rb">\n([ \t]+)<", original)
    return match.group(1).decode() if match else "  "


def own_text(element: Any) -> str:
    """The element's text, with the text between and after its children (mixed content)."""
    parts = [element.text, *(child.tail for child in element)]
    return " ".join(p.strip() for p in parts if p and p.strip())


def _is_leaf(element: Any) -> bool:
    """A text-only element: a value. (An element with nothing in it is an empty object.)"""
    return not len(element) and not element.attrib and bool((element.text or "").strip())


class _TooDeep(Exception):
    pass


def element_node(element: Any, *, limit: int | None = None, depth: int = 1) -> dict:
    """The node of ``element``; deeper than ``limit`` elements, _TooDeep."""
    if limit is not None and depth > limit:
        raise _TooDeep
    node: dict[str, Any] = {f"@{k}": v for k, v in element.attrib.items()}
    groups: dict[str, list[Any]] = {}
    for child in element:
        if isinstance(child.tag, str):  # comments and processing instructions are skipped
            groups.setdefault(child.tag, []).append(child)
    text = own_text(element)
    if text:
        node[TEXT] = text
    for tag, members in groups.items():
        if len(members) == 1:
            only = members[0]
            node[tag] = only.text.strip() if _is_leaf(only) else \
                element_node(only, limit=limit, depth=depth + 1)
        elif all(_is_leaf(m) for m in members):
            node[tag] = [m.text.strip() for m in members]
        else:
            node[tag] = [element_node(m, limit=limit, depth=depth + 1) if not _is_leaf(m)
                         else {TEXT: m.text.strip()} for m in members]
    return node


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _node_element(tag: str, node: Any, ET: Any) -> Any:
    element = ET.Element(tag)
    if not isinstance(node, dict):
        element.text = _text(node)
        return element
    for key, value in node.items():
        if key.startswith("@"):
            element.set(key[1:], _text(value))
        elif key == TEXT:
            element.text = _text(value)
        elif isinstance(value, list):
            for entry in value:
                element.append(_node_element(key, entry, ET))
        else:
            element.append(_node_element(key, value, ET))
    return element
