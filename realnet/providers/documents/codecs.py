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
        inline, inline_separators = _one_line_containers(original) if indent is not None else (set(), None)
        if inline:
            step = indent if isinstance(indent, str) else " " * (indent or 0)
            text = _json_laid_out(document, (), "", step, inline, inline_separators)
        else:
            text = json.dumps(document, indent=indent, ensure_ascii=False, separators=separators)
        if original.endswith(b"\n"):
            text += "\n"
        return text.encode("utf-8")


#: Above this size a JSON document is written in one style, without looking at how it was laid out.
JSON_LAYOUT_LIMIT = 4 * 1024 * 1024
_JSON_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[\[\]{},\n]')


def _one_line_containers(original: bytes) -> tuple[set[tuple[Any, ...]], tuple[str, str]]:
    """The paths (keys and indexes) of the non-empty objects and lists the file opens and
    closes on one line, and the separators (between items, after keys) used there."""
    nothing: tuple[set[tuple[Any, ...]], tuple[str, str]] = (set(), (", ", ": "))
    if len(original) > JSON_LAYOUT_LIMIT:
        return nothing
    try:
        text = original.decode("utf-8")
    except UnicodeDecodeError:
        return nothing
    found: set[tuple[Any, ...]] = set()
    spaced = {",": False, ", ": False, ":": False, ": ": False}
    stack: list[list[Any]] = []  # [path, line it opened on, where it opened, next index (None: an object)]
    line = 0
    key: Any = None
    for match in _JSON_TOKEN.finditer(text):
        piece = match.group()
        if piece == "\n":
            line += 1
        elif piece in "[{":
            path = (*stack[-1][0], key if stack[-1][3] is None else stack[-1][3]) if stack else ()
            stack.append([path, line, match.end(), 0 if piece == "[" else None])
        elif piece in "]}":
            if not stack:
                return nothing
            path, opened, start, _ = stack.pop()
            if opened == line and text[start:match.start()].strip():
                found.add(path)
                inside = text[start:match.start()]
                for separator in spaced:
                    spaced[separator] = spaced[separator] or separator in inside
        elif piece == ",":
            if stack and stack[-1][3] is not None:
                stack[-1][3] += 1
        elif stack and stack[-1][3] is None and text.startswith(":", _after_space(text, match.end())):
            key = json.loads(piece)  # a string where an object expects a key
    items = ", " if spaced[", "] or not spaced[","] else ","
    after_key = ": " if spaced[": "] or not spaced[":"] else ":"
    return found, (items, after_key)


def _after_space(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _json_laid_out(value: Any, path: tuple[Any, ...], margin: str, step: str,
                   inline: set[tuple[Any, ...]], separators: tuple[str, str]) -> str:
    """``value`` as JSON indented by ``step`` from ``margin``, but on one line (with
    ``separators``) where its path is in ``inline``."""
    if not isinstance(value, dict | list) or not value or path in inline:
        return json.dumps(value, ensure_ascii=False, separators=separators)
    inner = margin + step
    if isinstance(value, dict):
        parts = [f"{inner}{json.dumps(k, ensure_ascii=False)}: "
                 f"{_json_laid_out(v, (*path, k), inner, step, inline, separators)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(parts) + f"\n{margin}}}"
    parts = [inner + _json_laid_out(v, (*path, i), inner, step, inline, separators)
             for i, v in enumerate(value)]
    return "[\n" + ",\n".join(parts) + f"\n{margin}]"


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
        return {"tag": root.tag, "node": _element_node(root),
                "declaration": data.lstrip().startswith(b"<?xml")}

    def dump(self, document: Any, original: bytes) -> bytes:
        """The elements written again, keeping from ``original`` its comments and processing
        instructions (before, inside and after the root element), the order of sibling
        elements, and where an unchanged element's text sat between its children."""
        from xml.etree import ElementTree as ET

        root = _node_element(document["tag"], document["node"], ET)
        before = after = ""
        kept = _as_written(original)
        space = _xml_indent(original)
        if kept is not None and kept[0].tag == root.tag:
            _carry_over(kept[0], root, level=0, space=space, pretty="\n" in (kept[0].text or ""))
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


def _as_written(original: bytes) -> tuple[Any, str, str] | None:
    """The file's root element with its comments and processing instructions, and the
    text before it (less the XML declaration) and after it; None if that cannot be had."""
    from xml.etree.ElementTree import ParseError, TreeBuilder

    import defusedxml
    from defusedxml.ElementTree import DefusedXMLParser

    try:
        parser = DefusedXMLParser(target=TreeBuilder(insert_comments=True, insert_pis=True))
        parser.feed(original)
        root = parser.close()
    except (ParseError, ValueError, defusedxml.DefusedXmlException):
        return None
    try:
        text = original.decode("utf-8")
    except UnicodeDecodeError:  # another encoding: only what is inside the root is kept
        return root, "", ""
    start = _prolog_end(text)
    prolog = re.sub(r"\A\s*<\?xml\b.*?\?>", "", text[:start], flags=re.S).strip()
    epilog = text[_epilog_start(text):].strip()
    return root, prolog + "\n" if prolog else "", "\n" + epilog if epilog else ""


def _prolog_end(text: str) -> int:
    """Where the root element starts: after the declaration, comments, processing
    instructions and a document type declaration."""
    at = 0
    while True:
        at = len(text) - len(text[at:].lstrip())
        if text.startswith("<?", at):
            end = text.find("?>", at)
            at = -1 if end < 0 else end + 2
        elif text.startswith("<!--", at):
            end = text.find("-->", at)
            at = -1 if end < 0 else end + 3
        elif text.startswith("<!DOCTYPE", at):
            bracket, close = text.find("[", at), text.find(">", at)
            if 0 <= bracket < close:
                close = text.find(">", text.find("]", bracket))
            at = -1 if close < 0 else close + 1
        else:
            return at
        if at < 0:
            return 0


def _epilog_start(text: str) -> int:
    """Where the comments and processing instructions after the root element start."""
    end = len(text)
    while True:
        stripped = text[:end].rstrip()
        if stripped.endswith("-->"):
            start = stripped.rfind("<!--")
        elif stripped.endswith("?>"):
            start = stripped.rfind("<?")
        else:
            return len(stripped)
        if start < 0:
            return len(stripped)
        end = start


def _carry_over(old: Any, new: Any, *, level: int, space: str, pretty: bool) -> None:
    """Give ``new`` — an element as rebuilt from the document's nodes — what ``old``, the
    same element as the file had it, held beyond them: comments and processing
    instructions in their places, the order of its children (the nodes group them by
    name), its text between the children when that did not change, and its line breaks
    and indentation (new elements are indented like their siblings). Children are the
    same when they have the same name and count among their like-named siblings."""
    fresh: dict[tuple[str, int], Any] = {}
    counts: dict[str, int] = {}
    for child in new:
        fresh[(child.tag, counts.setdefault(child.tag, 0))] = child
        counts[child.tag] += 1
    order: list[Any] = []
    pairs: list[tuple[Any, Any]] = []
    seen: dict[str, int] = {}
    for child in old:
        if not isinstance(child.tag, str):  # a comment or a processing instruction
            order.append(child)
            continue
        match = fresh.pop((child.tag, seen.setdefault(child.tag, 0)), None)
        seen[child.tag] += 1
        if match is not None:
            _carry_over(child, match, level=level + 1, space=space, pretty=pretty)
            match.tail = child.tail
            pairs.append((child, match))
            order.append(match)
    for (tag, _), child in fresh.items():  # new elements: after the last of their name, else at the end
        last = max((i for i, c in enumerate(order) if c.tag == tag), default=len(order) - 1)
        order.insert(last + 1, child)
    new[:] = order
    if not len(new):
        return
    if any(not _blank(c.tail) for c in old):  # text between the children (mixed content)
        own = _own_text(old)
        in_place = (new.text or "") == own
        if in_place:  # unchanged: back where it was, if every child that held some is still there
            new.text = old.text
            in_place = _own_text(new) == own
            if not in_place:
                new.text = own
        if not in_place:  # the element's text goes before its children, all of it
            for _, now in pairs:
                if not _blank(now.tail):
                    now.tail = None
    carried = {id(was): now for was, now in pairs}
    old_last = carried.get(id(old[-1]), old[-1]) if len(old) else None  # a comment stays itself
    _lay_out(old, new, list(fresh.values()), old_last if old_last in order else None, level=level,
             space=space, pretty=pretty)


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


def _lay_out(old: Any, new: Any, added: list[Any], last: Any, *, level: int, space: str,
             pretty: bool) -> None:
    """Line breaks around ``new``'s children: each carried over keeps its own; new ones,
    and whatever became or stopped being the last child, get the ones ``old`` used
    between children and before its closing tag. ``last``: what ``old``'s last child
    became (None: it is gone)."""
    from xml.etree import ElementTree as ET

    before = list(old)
    if before:
        opening = old.text if _blank(old.text) else None
        closing = before[-1].tail if _blank(before[-1].tail) else None
        sibling = next((c.tail for c in before[:-1] if _blank(c.tail)), closing)
    elif pretty:  # children where there were none: as the file indents elsewhere
        opening = sibling = "\n" + space * (level + 1)
        closing = "\n" + space * level
    else:
        opening = sibling = closing = None
    if _blank(new.text):
        new.text = opening
    children = list(new)
    fresh = {id(child) for child in added}
    for at, child in enumerate(children):
        now_last = at == len(children) - 1
        if (id(child) in fresh or now_last != (child is last)) and _blank(child.tail):
            child.tail = closing if now_last else sibling
    if sibling is not None and "\n" in sibling:
        for child in added:
            if len(child):
                tail = child.tail
                ET.indent(child, space=space, level=level + 1)
                child.tail = tail


def _xml_indent(original: bytes) -> str:
    match = re.search(rb">\n([ \t]+)<", original)
    return match.group(1).decode() if match else "  "


def _own_text(element: Any) -> str:
    """The element's text, with the text between and after its children (mixed content)."""
    parts = [element.text, *(child.tail for child in element)]
    return " ".join(p.strip() for p in parts if p and p.strip())


def _is_leaf(element: Any) -> bool:
    """A text-only element: a value. (An element with nothing in it is an empty object.)"""
    return not len(element) and not element.attrib and bool((element.text or "").strip())


def _element_node(element: Any) -> dict:
    node: dict[str, Any] = {f"@{k}": v for k, v in element.attrib.items()}
    groups: dict[str, list[Any]] = {}
    for child in element:
        if isinstance(child.tag, str):  # comments and processing instructions are skipped
            groups.setdefault(child.tag, []).append(child)
    text = _own_text(element)
    if text:
        node[TEXT] = text
    for tag, members in groups.items():
        if len(members) == 1:
            only = members[0]
            node[tag] = only.text.strip() if _is_leaf(only) else _element_node(only)
        elif all(_is_leaf(m) for m in members):
            node[tag] = [m.text.strip() for m in members]
        else:
            node[tag] = [_element_node(m) if not _is_leaf(m) else {TEXT: m.text.strip()}
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
