"""Reading and writing JSON, YAML and XML documents.

Each codec reads fast (orjson, libyaml's C loader, defusedxml) for everything that
only looks, and for a change reads the file again in a form it can write back:
YAML through ruamel's round-trip loader, which keeps comments, key order, quoting and
indentation; XML is rebuilt from its nodes and then given back, from the file, its
comments, processing instructions, sibling order and line breaks. Every parse error
names the file, line and column.
"""

from __future__ import annotations

import io
import itertools
import json
import re
from typing import Any

from realnet.core.errors import InvalidName, ValidationError


class Codec:
    name = "document"
    kind = "document"

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


def _check_top(document: Any, source: str, kind: str) -> Any:
    if not isinstance(document, dict | list):
        raise ValidationError(f"{source}: a mounted {kind} must hold an object or a list at the top, "
                              f"not {type(document).__name__}")
    return document


class JsonCodec(Codec):
    name = "json"
    kind = "JSON document"

    def load(self, data: bytes, source: str) -> Any:
        import orjson

        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError as e:
            raise ValidationError(f"{source}: not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})"
                                  ) from None
        return _check_top(document, source, self.kind)

    def dump(self, document: Any, original: bytes) -> bytes:
        """Written with the file's indentation; what the file had on one line (``"tags":
        ["a", "b"]``) stays on one line."""
        indent: int | str | None = None
        match = re.search(rb"\n([ \t]+)\S", original)
        if match:
            whitespace = match.group(1).decode()
            indent = whitespace if "\t" in whitespace else len(whitespace)
        separators = None if indent is not None or b", " in original[:4096] else (",", ":")
        from realnet.providers.documents.json_layout import laid_out, one_line_containers

        inline, inline_separators = one_line_containers(original) if indent is not None else (set(), None)
        if inline:
            step = indent if isinstance(indent, str) else " " * (indent or 0)
            text = laid_out(document, (), "", step, inline, inline_separators)
        else:
            text = json.dumps(document, indent=indent, ensure_ascii=False, separators=separators)
        if original.endswith(b"\n"):
            text += "\n"
        return text.encode("utf-8")


class YamlCodec(Codec):
    name = "yaml"
    kind = "YAML document"

    def load(self, data: bytes, source: str) -> Any:
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            document = yaml.load(data, Loader=loader)  # noqa: S506 - a safe loader
        except yaml.MarkedYAMLError as e:
            raise ValidationError(f"{source}: not valid YAML: {_yaml_problem(e)}") from None
        except yaml.YAMLError as e:
            raise ValidationError(f"{source}: not valid YAML: {e}") from None
        if document is None:
            document = {}  # an empty file: an empty mapping, ready for values
        if b"&" in data and (data.startswith(b"&") or _ANCHOR.search(data)):
            _check_expansion(document, source)
        return _check_top(document, source, self.kind)

    def _round_trip(self):
        from ruamel.yaml import YAML

        yaml = YAML(typ="rt")
        yaml.preserve_quotes = True
        yaml.width = 4096  # never fold long lines that were not folded
        return yaml

    def load_for_edit(self, data: bytes, source: str) -> Any:
        from ruamel.yaml.error import MarkedYAMLError, YAMLError

        yaml = self._round_trip()
        try:
            document = yaml.load(data)
        except MarkedYAMLError as e:
            raise ValidationError(f"{source}: not valid YAML: {_yaml_problem(e)}") from None
        except YAMLError as e:
            raise ValidationError(f"{source}: not valid YAML: {e}") from None
        if document is None:
            from ruamel.yaml.comments import CommentedMap

            document = CommentedMap()
        return _check_top(document, source, self.kind)

    def dump(self, document: Any, original: bytes) -> bytes:
        yaml = self._round_trip()
        mapping, sequence, offset = guess_indent(original.decode("utf-8", errors="replace"))
        yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
        _keep_null_style(yaml, original)
        directive = re.match(rb"\s*%YAML\s+(\d+)\.(\d+)", original)
        if directive:
            yaml.version = (int(directive.group(1)), int(directive.group(2)))
        if directive or original.lstrip().startswith(b"---"):
            yaml.explicit_start = True
        out = io.BytesIO()
        yaml.dump(document, out)
        return out.getvalue()


# An anchor: '&' after a space, '[', '{', ',', ':' or '-' (led by the literal, which is fast).
_ANCHOR = re.compile(rb"&(?<=[\s\[{,:-]&)[^\s,\[\]{}]")
#: Aliases may make a document mean far more values than it spells out (the YAML
#: "billion laughs"); more than this many, and more than 10× the distinct ones, is refused.
MAX_EXPANDED = 1_000_000


def _check_expansion(document: Any, source: str) -> None:
    sizes: dict[int, int] = {}
    spelled = 0  # values as written: each container once, with its plain values

    def size(node: Any) -> int:
        nonlocal spelled
        if not isinstance(node, dict | list):
            return 1
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = 1  # a cycle counts once
        values = list(node.values() if isinstance(node, dict) else node)
        spelled += 1 + sum(1 for v in values if not isinstance(v, dict | list))
        total = 1
        for value in values:
            total += size(value)
            if total > MAX_EXPANDED * 100:
                break
        sizes[id(node)] = total
        return total

    try:
        expanded = size(document)
    except RecursionError:
        raise ValidationError(f"{source}: refused: nested too deeply") from None
    if expanded > MAX_EXPANDED and expanded > 10 * spelled:
        raise ValidationError(f"{source}: refused: its aliases expand it to more than "
                              f"{MAX_EXPANDED:,} values (an alias bomb)")


def _keep_null_style(yaml: Any, original: bytes) -> None:
    """Write nulls as the file mostly does: ``~``, ``null`` or nothing."""
    tilde = len(re.findall(rb"[:-][ \t]+~[ \t]*(?:#.*)?$", original, re.MULTILINE))
    word = len(re.findall(rb"[:-][ \t]+null[ \t]*(?:#.*)?$", original, re.MULTILINE))
    if not tilde and not word:
        return
    text = "~" if tilde >= word else "null"

    def represent_none(representer: Any, _data: Any) -> Any:
        return representer.represent_scalar("tag:yaml.org,2002:null", text)

    yaml.representer.add_representer(type(None), represent_none)


def _content_lines(text: str) -> list[tuple[int, str]]:
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            out.append((len(line) - len(line.lstrip(" ")), stripped))
    return out


def guess_indent(text: str) -> tuple[int, int, int]:
    """(mapping indent, sequence indent, dash offset) as the file writes them, so that
    writing it back changes only what was changed."""
    mapping, offset, width = None, None, 2
    lines = _content_lines(text)
    for (indent, line), (next_indent, next_line) in itertools.pairwise(lines):
        if not line.split(" #")[0].endswith(":") or next_indent < indent:
            continue
        if next_line.startswith("- ") or next_line == "-":
            if offset is None:
                offset = next_indent - indent
                width = len(next_line) - len(next_line[1:].lstrip()) if next_line != "-" else 2
        elif mapping is None and next_indent > indent:
            mapping = next_indent - (indent + 2 if line.startswith("- ") else indent)
        if mapping is not None and offset is not None:
            break
    mapping = mapping if mapping and mapping > 0 else 2
    if offset is None:
        return mapping, mapping, max(mapping - 2, 0)
    return mapping, offset + max(width, 2), offset


def _yaml_problem(error: Any) -> str:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or getattr(error, "context", None) or "cannot parse"
    if mark is None:
        return str(problem)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"


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
        return {"tag": root.tag, "node": element_node(root),
                "declaration": data.lstrip().startswith(b"<?xml")}

    def dump(self, document: Any, original: bytes) -> bytes:
        """The elements written again, keeping from ``original`` its comments and processing
        instructions (before, inside and after the root element), the order of sibling
        elements, and where an unchanged element's text sat between its children."""
        from xml.etree import ElementTree as ET

        from realnet.providers.documents.xml_layout import as_written, carry_over

        root = _node_element(document["tag"], document["node"], ET)
        before = after = ""
        kept = as_written(original)
        space = _xml_indent(original)
        if kept is not None and kept[0].tag == root.tag:
            carry_over(kept[0], root, level=0, space=space, pretty="\n" in (kept[0].text or ""))
            before, after = kept[1], kept[2]
        else:
            ET.indent(root, space=space)
        text = before + ET.tostring(root, encoding="unicode") + after
        if document.get("declaration"):
            text = '<?xml version="1.0" encoding="UTF-8"?>\n' + text
        return (text + "\n").encode("utf-8")

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


def element_node(element: Any) -> dict:
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
            node[tag] = only.text.strip() if _is_leaf(only) else element_node(only)
        elif all(_is_leaf(m) for m in members):
            node[tag] = [m.text.strip() for m in members]
        else:
            node[tag] = [element_node(m) if not _is_leaf(m) else {TEXT: m.text.strip()}
                         for m in members]
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


CODECS: dict[str, Codec] = {"json": JsonCodec(), "yaml": YamlCodec(), "xml": XmlCodec()}
