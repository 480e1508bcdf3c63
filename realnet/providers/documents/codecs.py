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
"""

from __future__ import annotations

import io
import itertools
import json
import math
import re
import warnings
from functools import cache
from typing import Any

from realnet.core.errors import InvalidName, ValidationError
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


#: Integers beyond 64 bits, which orjson reads as floats (rounded), have 19 digits in a row
#: or more (a string may have them too, which costs only a slower second reading); every
#: digit made a 0 and the run looked for as bytes is twenty times faster than a regex.
_DIGITS_AS_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGITS = b"0" * 19


def _refuse_non_finite(value: Any, name: str, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(f"{where}: attribute '{name}': {value!r} is not a JSON number (JSON has "
                              "no NaN or infinity); give a finite number, or a string")
    if isinstance(value, dict):
        for inner in value.values():
            _refuse_non_finite(inner, name, where)
    elif isinstance(value, list):
        for inner in value:
            _refuse_non_finite(inner, name, where)


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
        _check_top(document, source, self.kind)
        openers = data.count(b"[") + data.count(b"{")
        if openers > self.max_depth:
            try:
                # orjson writes what nests up to 254 levels (fewer than max_depth), and forty
                # times faster than a walk; only what it refuses need be walked.
                orjson.dumps(document)
            except orjson.JSONEncodeError:
                self.check_depth(document, source, openers)
        if _LONG_DIGITS in data.translate(_DIGITS_AS_ZEROS):
            # orjson has checked it is JSON (the standard library would take NaN); this
            # reading keeps integers wider than 64 bits exact, so that writing back another
            # change leaves them as they were.
            document = json.loads(data)
        return document

    def check_value(self, name: str, value: Any, where: str) -> None:
        _refuse_non_finite(value, name, where)

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
        try:
            if inline:
                step = indent if isinstance(indent, str) else " " * (indent or 0)
                text = laid_out(document, (), "", step, inline, inline_separators)
            else:
                text = json.dumps(document, indent=indent, ensure_ascii=False, separators=separators,
                                  allow_nan=False)
        except ValueError as e:  # NaN or infinity: check_value keeps them out; never write them
            raise ValidationError(f"cannot be written as JSON: {e}") from None
        if original.endswith(b"\n"):
            text += "\n"
        return same_line_breaks(text.encode("utf-8"), original)


class YamlCodec(Codec):
    name = "yaml"
    kind = "YAML document"
    max_depth = 200  # ruamel's writer recurses three frames a level

    def load(self, data: bytes, source: str) -> Any:
        import yaml

        try:
            document = yaml.load(data, Loader=fast_loader(yaml_version(data)))  # noqa: S506 - safe loaders
        except yaml.MarkedYAMLError as e:
            raise ValidationError(f"{source}: not valid YAML: {_yaml_problem(e)}") from None
        except yaml.YAMLError as e:
            raise ValidationError(f"{source}: not valid YAML: {e}") from None
        except ValueError as e:  # a value its type's constructor refuses (1.1's 0b_)
            raise ValidationError(f"{source}: not valid YAML: {e}") from None
        if document is None:
            document = {}  # an empty file: an empty mapping, ready for values
        _check_top(document, source, self.kind)
        if b"&" in data and (data.startswith(b"&") or _ANCHOR.search(data)):
            try:
                _check_expansion(document, source)
            except RecursionError:
                raise self.too_deep(source) from None
        # Nesting takes a line, a bracket or a dash a level (aliases were counted just above).
        openers = data.count(b"\n") + data.count(b"[") + data.count(b"{") + data.count(b"-") + 1
        self.check_depth(document, source, openers)
        return document

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
            with warnings.catch_warnings():
                # ruamel warns on stderr, over several lines, of YAML 1.1 floats without a dot.
                warnings.simplefilter("ignore")
                document = yaml.load(data)
        except RecursionError:
            raise self.too_deep(source) from None
        except MarkedYAMLError as e:
            raise ValidationError(f"{source}: not valid YAML: {_yaml_problem(e)}") from None
        except YAMLError as e:
            raise ValidationError(f"{source}: not valid YAML: {e}") from None
        except (ValueError, IndexError) as e:  # ruamel's constructors fail on '-_' or '0b_'
            raise ValidationError(f"{source}: cannot be read for writing back: {type(e).__name__}: {e}"
                                  ) from None
        if document is None:
            from ruamel.yaml.comments import CommentedMap

            document = CommentedMap()
        return _check_top(document, source, self.kind)

    def dump(self, document: Any, original: bytes) -> bytes:
        yaml = self._round_trip()
        mapping, sequence, offset = guess_indent(original.decode("utf-8", errors="replace"))
        yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
        _keep_null_style(yaml, original.replace(b"\r\n", b"\n"))
        directive = re.match(rb"\s*%YAML\s+(\d+)\.(\d+)", original)
        if directive:
            yaml.version = (int(directive.group(1)), int(directive.group(2)))
        if directive or original.lstrip().startswith(b"---"):
            yaml.explicit_start = True
        out = io.BytesIO()
        yaml.dump(document, out)
        return same_line_breaks(out.getvalue(), original)


_DIRECTIVE = re.compile(rb"(?:[ \t]*(?:#[^\n]*)?\r?\n)*%YAML[ \t]+1\.1\b")


def yaml_version(data: bytes) -> tuple[int, int]:
    """The YAML version a file is read in: 1.2, as ruamel writes it back, unless a
    ``%YAML 1.1`` directive says otherwise (ruamel then writes 1.1 as well)."""
    return (1, 1) if b"%YAML" in data[:4096] and _DIRECTIVE.match(data) else (1, 2)


# The implicit types as ruamel resolves them (ruamel.yaml.resolver), so that the fast
# reader sees the values the writer does. In YAML 1.2 ``yes``, ``on`` and ``off`` are
# strings, ``0755`` is 755 and ``0o755`` 493, ``1e3`` is a float and ``1:20`` a string.
_BOTH = ((1, 1), (1, 2))
_IMPLICIT = (
    (((1, 2),), "bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (((1, 1),), "bool", r"""^(?:y|Y|yes|Yes|YES|n|N|no|No|NO
        |true|True|TRUE|false|False|FALSE
        |on|On|ON|off|Off|OFF)$""", "yYnNtTfFoO"),
    (((1, 2),), "float", r"""^(?:
         [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""", "-+0123456789."),
    (((1, 1),), "float", r"""^(?:
         [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""", "-+0123456789."),
    (((1, 2),), "int", r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$""", "-+0123456789"),
    (((1, 1),), "int", r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0?[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+
        |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$""", "-+0123456789"),
    (_BOTH, "merge", r"^(?:<<)$", "<"),
    (_BOTH, "null", r"^(?: ~ |null|Null|NULL | )$", ["~", "n", "N", ""]),
    (_BOTH, "timestamp", r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""", "0123456789"),
)


def _construct_bool(loader: Any, node: Any) -> bool:
    return loader.construct_scalar(node).lower() in ("true", "yes", "y", "on")


_INT_BASES = {"0b": 2, "0x": 16, "0o": 8}


def _construct_int12(loader: Any, node: Any) -> int | str:
    written = loader.construct_scalar(node)
    text = written.replace("_", "")
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    base = _INT_BASES.get(text[:2], 10)  # a leading zero is decimal in YAML 1.2
    if base != 10:
        text = text[2:]
    return sign * int(text, base) if text else written  # '-_' is all underscores: text


@cache
def fast_loader(version: tuple[int, int]) -> Any:
    """libyaml's safe loader (PyYAML's pure one without it), resolving the types of YAML
    ``version`` as ruamel does."""
    import yaml

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        yaml_implicit_resolvers: dict = {}  # noqa: RUF012 - filled once, below

    for versions, kind, pattern, first in _IMPLICIT:
        if version in versions:
            Loader.add_implicit_resolver(f"tag:yaml.org,2002:{kind}", re.compile(pattern, re.X), list(first))
    Loader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
    if version != (1, 1):  # PyYAML's own reads 1.1's octal and sexagesimal integers
        Loader.add_constructor("tag:yaml.org,2002:int", _construct_int12)
    return Loader


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


CODECS: dict[str, Codec] = {"json": JsonCodec(), "yaml": YamlCodec(), "xml": XmlCodec()}
