"""The JSON codec: read with orjson (the standard library where integers are wider than
64 bits, so they stay exact), written back with the file's indentation and its one-line
containers kept on one line.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from realnet.core.errors import ValidationError
from realnet.providers.documents.codecs import Codec, _check_top, same_line_breaks

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
