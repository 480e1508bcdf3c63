"""What an XML file holds beyond a document's nodes, given back when it is written again.

The nodes hold elements, attributes and text. The file also has comments and processing
instructions, an order of sibling elements that the nodes group by name, text between
child elements, and its line breaks and indentation. :func:`as_written` reads them with
the file's root; :func:`carry_over` gives them to the root rebuilt from the nodes.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any, NamedTuple

from realnet.providers.documents.xml_codec import element_node, own_text

#: Namespace declarations, (prefix, URI) in the file's order ('' for the default
#: namespace), by the ``id`` of the element that makes them.
Declared = dict[int, list[tuple[str, str]]]


class Written(NamedTuple):
    root: Any
    before: str  # the prolog, less the XML declaration
    after: str  # the epilog
    declared: Declared


def _builder(declared: Declared) -> Any:
    from xml.etree.ElementTree import TreeBuilder

    class Builder(TreeBuilder):
        """Notes which element declares which namespaces (the parser tells them just before
        the element itself)."""

        pending: list[tuple[str, str]] = []  # noqa: RUF012 - replaced, never changed in place

        def start_ns(self, prefix: str, uri: str) -> None:
            self.pending = [*self.pending, (prefix, uri)]

        def start(self, tag: str, attrs: dict[str, str]) -> Any:
            element = super().start(tag, attrs)
            if self.pending:
                declared[id(element)], self.pending = self.pending, []
            return element

    return Builder(insert_comments=True, insert_pis=True)


def as_written(original: bytes) -> Written | None:
    """The file's root element with its comments, processing instructions and namespace
    declarations, and the text before it (less the XML declaration) and after it; None if
    that cannot be had."""
    from xml.etree.ElementTree import ParseError, TreeBuilder

    import defusedxml
    from defusedxml.ElementTree import DefusedXMLParser

    declared: Declared = {}
    # Only a file with namespaces pays for a builder of Python's own.
    target = _builder(declared) if b"xmlns" in original else TreeBuilder(insert_comments=True,
                                                                       insert_pis=True)
    try:
        parser = DefusedXMLParser(target=target)
        parser.feed(original)
        root = parser.close()
    except (ParseError, ValueError, defusedxml.DefusedXmlException):
        return None
    try:
        text = original.decode("utf-8-sig")
    except UnicodeDecodeError:  # another encoding: only what is inside the root is kept
        return Written(root, "", "", declared)
    start = _prolog_end(text)
    prolog = re.sub(r"\A\s*<\?xml\b.*?\?>", "", text[:start], flags=re.S).strip()
    epilog = text[_epilog_start(text):].strip()
    return Written(root, prolog + "\n" if prolog else "", "\n" + epilog if epilog else "", declared)


XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"


def with_prefixes(root: Any, declared: Declared) -> None:
    """Name ``root``'s elements and attributes as the file did, in place: ``{uri}name``
    with the prefix (or default namespace) in force there, and the declarations on the
    elements that made them, so that the XML writer neither invents ``ns0:`` prefixes nor
    moves declarations. A namespace the file never declared gets a prefix of its own
    (``ns0``…) where it is first used; an element of no namespace where a default one is
    in force undeclares it (``xmlns=""``)."""
    stack: list[tuple[Any, dict[str, str], str | None]] = [(root, {XML_NAMESPACE: "xml"}, None)]
    while stack:
        element, scope, default = stack.pop()
        if not isinstance(element.tag, str):  # a comment or a processing instruction
            continue
        declarations = list(declared.get(id(element), ()))
        for prefix, uri in declarations:
            if prefix:
                scope = {u: p for u, p in scope.items() if p != prefix}
                scope[uri] = prefix
            else:
                default = uri or None
        tag, scope, default = _prefixed(element.tag, scope, default, declarations, attribute=False)
        attributes = {}
        for key, value in element.attrib.items():
            name, scope, default = _prefixed(key, scope, default, declarations, attribute=True)
            attributes[name] = value
        element.tag = tag
        if declarations:
            named = {f"xmlns:{p}" if p else "xmlns": uri for p, uri in declarations}
            attributes = {**named, **attributes}
        if attributes != element.attrib:
            element.attrib.clear()
            element.attrib.update(attributes)
        stack.extend((child, scope, default) for child in reversed(element))


def _prefixed(name: str, scope: dict[str, str], default: str | None, declarations: list[tuple[str, str]],
              *, attribute: bool) -> tuple[str, dict[str, str], str | None]:
    """``name`` as written where ``scope`` (URI → prefix) and ``default`` are in force, and
    those two afterwards; a declaration it needs is added to ``declarations``."""
    if not name.startswith("{"):
        if not attribute and default is not None:
            declarations.append(("", ""))
            default = None
        return name, scope, default
    uri, local = name[1:].split("}", 1)
    if uri == default and not attribute:  # attributes take no default namespace
        return local, scope, default
    prefix = scope.get(uri)
    if prefix is None:
        taken = set(scope.values())
        prefix = next(f"ns{n}" for n in range(len(taken) + 1) if f"ns{n}" not in taken)
        scope = {**scope, uri: prefix}
        declarations.append((prefix, uri))
    return f"{prefix}:{local}", scope, default


_SPACE = re.compile(r"\s*")


def _prolog_end(text: str) -> int:
    """Where the root element starts: after the declaration, comments, processing
    instructions and a document type declaration. (Positions, not slices: a document
    may be tens of megabytes.)"""
    at = 0
    while True:
        at = _SPACE.match(text, at).end()  # type: ignore[union-attr] - \s* always matches
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
        while end and text[end - 1].isspace():
            end -= 1
        if text.endswith("-->", 0, end):
            start = text.rfind("<!--", 0, end)
        elif text.endswith("?>", 0, end):
            start = text.rfind("<?", 0, end)
        else:
            return end
        if start < 0:
            return end
        end = start


def carry_over(old: Any, new: Any, *, level: int, space: str, pretty: bool,
               paired: dict[int, Any] | None = None) -> None:
    """Give ``new`` — an element as rebuilt from the document's nodes — what ``old``, the
    same element as the file had it, held beyond them: comments and processing
    instructions in their places, the order of its children (the nodes group them by
    name), its text between the children when that did not change, and its line breaks
    and indentation (new elements are indented like their siblings). Which children are
    the same: see :func:`_pair_up`; ``paired`` gets, by the ``id`` of each new element, the
    old one it was paired with."""
    if paired is not None:
        paired[id(new)] = old
    if not len(old) and not len(new):  # a value: its text is the node's
        return
    before = [c for c in old if isinstance(c.tag, str)]
    after = list(new)
    if len(before) == len(after) and all(b.tag == a.tag for b, a in zip(before, after, strict=True)):
        partner = {id(b): a for b, a in zip(before, after, strict=True)}  # the same names in the same order
    else:
        partner = _pair_up(before, after)
    order: list[Any] = []
    pairs: list[tuple[Any, Any]] = []
    for child in old:
        match = partner.get(id(child))
        if match is not None:
            carry_over(child, match, level=level + 1, space=space, pretty=pretty, paired=paired)
            match.tail = child.tail
            pairs.append((child, match))
            order.append(match)
        elif not isinstance(child.tag, str):  # a comment or a processing instruction
            order.append(child)
    added = [] if len(pairs) == len(after) else [c for c in after if id(c) not in {id(n) for _, n in pairs}]
    for child in added:  # new elements: after the last of their name, else at the end
        last = max((i for i, c in enumerate(order) if c.tag == child.tag), default=len(order) - 1)
        order.insert(last + 1, child)
    new[:] = order
    if not len(new):
        return
    if any(not _blank(c.tail) for c in old):  # text between the children (mixed content)
        own = own_text(old)
        in_place = (new.text or "") == own
        if in_place:  # unchanged: back where it was, if every child that held some is still there
            new.text = old.text
            in_place = own_text(new) == own
            if not in_place:
                new.text = own
        if not in_place:  # the element's text goes before its children, all of it
            for _, now in pairs:
                if not _blank(now.tail):
                    now.tail = None
    if not added and len(pairs) == len(before):
        # The same children in the same places: each kept its own line break.
        if _blank(new.text) and _blank(old.text):
            new.text = old.text
        return
    carried = {id(was): now for was, now in pairs}
    old_last = carried.get(id(old[-1]), old[-1]) if len(old) else None  # a comment stays itself
    _lay_out(old, new, added, old_last if old_last in order else None, level=level,
             space=space, pretty=pretty)


def _pair_up(before: list[Any], after: list[Any]) -> dict[int, Any]:
    """Which of the new children (``after``) each element child of the old element
    (``before``) became, by ``id``. Among like-named siblings, as many as before pair up
    in order (values changed in place); when some came or went, the two lists are aligned
    on unchanged content (difflib), so that a removed element takes its comments with it,
    and the changed ones in between pair up in order."""
    partner: dict[int, Any] = {}
    fresh = _by_tag(after)
    for tag, was in _by_tag(before).items():
        now = fresh.get(tag, [])
        if len(was) == len(now):
            partner.update((id(b), a) for b, a in zip(was, now, strict=True))
            continue
        aligned = difflib.SequenceMatcher(None, [_content(e) for e in was], [_content(e) for e in now],
                                          autojunk=False)
        for op, i1, i2, j1, j2 in aligned.get_opcodes():
            if op in ("equal", "replace"):
                partner.update((id(b), a) for b, a in zip(was[i1:i2], now[j1:j2], strict=False))
    return partner


def _by_tag(elements: list[Any]) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = {}
    for element in elements:
        groups.setdefault(element.tag, []).append(element)
    return groups


def _content(element: Any) -> str:
    return json.dumps(element_node(element), sort_keys=True, ensure_ascii=False)


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
