"""The YAML codec: read with libyaml's C loader for everything that only looks, and for a
change through ruamel's round-trip loader, which keeps comments, key order, quoting and
indentation. Both readers resolve plain values alike (YAML 1.2, or 1.1 where the file says
so), so a value reads the same before and after a write; aliases that expand a document
far beyond what it spells out are refused.
"""

from __future__ import annotations

import io
import itertools
import re
import warnings
from functools import cache
from typing import Any

from realnet.core.errors import ValidationError
from realnet.providers.documents.codecs import Codec, _check_top, same_line_breaks


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
