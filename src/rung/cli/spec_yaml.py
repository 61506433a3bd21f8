"""Reading a YAML spec file: UTF-8 text, YAML syntax, no key given twice, and plain scalars read
the way a user means them.

PyYAML's ``safe_load`` keeps the last of two equal keys in a mapping and says nothing, so a spec
that sets ``lr`` twice runs with whichever came last. ``read_yaml`` composes the document, walks
its nodes and rejects a repeated key with its dotted path (``spec.space.lr``) and both lines,
and a key that is no name (``"": 1``, ``~: 1``, ``1: x``: every key of a spec names
something), then constructs the data. Every failure is a ``SpecError`` whose message is one line.

Plain (unquoted) scalars are resolved by YAML 1.2's core schema, not by YAML 1.1 as PyYAML does:

- numbers: ``1e-5``, ``1E5``, ``.5``, ``1.`` are floats (YAML 1.1 reads ``1e-5`` as text);
  ``.inf``, ``-.inf``, ``.nan`` too; ``0o17`` and ``0x1f`` are integers. Two YAML 1.1 forms
  that cannot be misread are kept: ``_`` between digits (``1_000``) and ``0b101``.
- booleans: only ``true`` / ``false`` (and ``True``, ``TRUE``...). ``yes``, ``no``, ``on``,
  ``off`` are text, so ``choices: [yes, no]`` or a parameter named ``on`` stay strings; a
  ``yes`` where a boolean is expected is refused by the check of that key.
- text: a date (``2024-01-31``), ``1:30`` (YAML 1.1: the base-60 integer 90) and ``=``.
- refused, naming the key: an integer with a leading zero (``017``), which YAML 1.1 reads as
  octal (15) and YAML 1.2 as decimal (17): quote it for text, or write ``17`` or ``0o17``.

A spec that YAML 1.1 reads without surprise (``1.0e-5``, ``true``, ``3``, ``0.1``, ``null``,
merges and aliases) reads the same. An explicit tag (``!!float``, ``!!bool``) is honoured as
PyYAML honours it.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from pathlib import Path
from typing import Any

from rung.cli.spec_error import SpecError, key_problem

#: Mapping keys YAML treats specially: ``<<`` merges another mapping (a merge may repeat keys).
#: a spec is a few kilobytes: a larger file is not one (``rung run /dev/zero`` read until OOM)
MAX_SPEC_BYTES = 16 * 2**20

_MERGE_TAG = "tag:yaml.org,2002:merge"
#: The tag a plain integer with a leading zero resolves to: refused, naming its key.
_LEADING_ZERO_TAG = "tag:rung,2026:leading-zero-integer"

_DIGITS = "0123456789"
#: ``(tag, pattern, first characters)`` in the order they are tried (a plain scalar takes the
#: first that matches; one that matches none is text). YAML 1.2's core schema, plus ``_``
#: between digits and ``0b`` integers from YAML 1.1 (see the module docstring).
_RESOLVERS = (
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int",
     r"^[-+]?(?:0|[1-9][0-9_]*|0b[01_]+|0o[0-7_]+|0x[0-9a-fA-F_]+)$", list("-+" + _DIGITS)),
    (_LEADING_ZERO_TAG, r"^[-+]?0[0-9_]+$", list("-+0")),
    ("tag:yaml.org,2002:float",
     r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?$"
     r"|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$", list("-+." + _DIGITS)),
    (_MERGE_TAG, r"^(?:<<)$", ["<"]),
)


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """Parse a YAML file (PyYAML is imported here, lazily).

    Raises ``SpecError`` (key ``spec``, or the path of the mapping or value at fault) on a
    missing or unreadable file, text that is not UTF-8, a YAML syntax error (with the line), a
    key given twice in one mapping, a key that is no name, or an integer with a leading zero.
    """
    try:
        import yaml  # noqa: F401  (only: is PyYAML installed?)
    except ImportError:  # pragma: no cover - depends on the installation
        raise SpecError(
            "spec", "reading a YAML spec needs PyYAML: pip install 'rung[cli]'"
        ) from None
    p = Path(path)
    try:
        if not stat.S_ISREG(p.stat().st_mode) and not p.is_dir():  # /dev/zero, a FIFO
            raise SpecError("spec", f"{p} is not a regular file")
        with p.open("rb") as f:
            raw = f.read(MAX_SPEC_BYTES + 1)
        if len(raw) > MAX_SPEC_BYTES:
            raise SpecError("spec", f"{p} is larger than {MAX_SPEC_BYTES // 2**20} MiB: not "
                            "a spec")
    except FileNotFoundError:
        raise SpecError("spec", f"no such file: {p}") from None
    except IsADirectoryError:
        raise SpecError("spec", f"{p} is a directory, not a YAML file") from None
    except OSError as e:
        raise SpecError("spec", f"cannot read {p}: {e.strerror or e}") from None
    return loads_yaml(raw)


def loads_yaml(raw: bytes) -> Any:
    """Parse the bytes of a YAML spec: UTF-8 text, else ``SpecError`` naming the first bad byte
    and its line; then ``parse_yaml``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise SpecError(
            "spec", f"not UTF-8 text: byte 0x{raw[e.start]:02x} at line {line} "
            f"(save the file as UTF-8)"
        ) from None
    return parse_yaml(text)


def parse_yaml(text: str) -> Any:
    """Parse YAML text: ``yaml.safe_load`` with the scalars of ``_RESOLVERS``, refusing what
    ``read_yaml`` refuses."""
    import yaml

    try:
        loader = _loader()(text)
    except yaml.reader.ReaderError as e:  # a character YAML does not allow, anywhere in the text
        raise SpecError("spec", _reader_message(text, e)) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_unique_keys(loader, node)
        return loader.construct_document(node)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise SpecError("spec", f"invalid YAML{where}: {_one_line(problem)}") from None
    except RecursionError:
        raise SpecError("spec", "invalid YAML: nested too deeply") from None
    except SpecError:  # (a ValueError too: the resolvers' own refusals, as they are)
        raise
    except ValueError as e:  # the scanner's chr() of an escape beyond U+10FFFF ("\U00110000")
        mark = loader.get_mark()
        raise SpecError("spec", f"invalid YAML at line {mark.line + 1}, column "
                        f"{mark.column + 1}: {_one_line(str(e))} (an escape such as "
                        "\\U00110000 beyond the last Unicode character?)") from None
    finally:
        loader.dispose()


_LOADER: Any = None


def _loader() -> Any:
    """``yaml.SafeLoader`` resolving plain scalars by ``_RESOLVERS``, whose constructor turns
    a value it cannot build (``!!timestamp`` on text that is no date, ``!!int`` on ``0x``:
    PyYAML raises ``AttributeError`` or ``ValueError`` for those) into a ``ConstructorError``
    at the value's line."""
    global _LOADER
    if _LOADER is None:
        import yaml

        class Loader(yaml.SafeLoader):
            yaml_implicit_resolvers: dict[Any, list[tuple[str, Any]]] = {}

            def construct_object(self, node: Any, deep: bool = False) -> Any:
                try:
                    return super().construct_object(node, deep=deep)
                except (yaml.YAMLError, RecursionError):
                    raise
                except (ArithmeticError, AttributeError, LookupError, TypeError,
                        ValueError) as e:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"cannot build a {node.tag} value: {_one_line(str(e))}",
                        node.start_mark,
                    ) from None

        for tag, pattern, first in _RESOLVERS:
            Loader.add_implicit_resolver(tag, re.compile(pattern), first)
        _LOADER = Loader
    return _LOADER


def _check_unique_keys(loader: Any, root: Any) -> None:
    """Walk the node graph (each node once: aliases may share or nest nodes) and raise
    ``SpecError`` at the first mapping that holds a key twice."""
    import yaml

    seen: set[int] = set()
    stack: list[tuple[Any, str]] = [(root, "spec")]
    while stack:
        node, where = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            _check_scalar(node, where)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((v, f"{where}[{i}]") for i, v in reversed(list(enumerate(node.value))))
        elif isinstance(node, yaml.MappingNode):
            first: dict[str, tuple[int, str]] = {}  # NFC form -> (line, key as written)
            children = []
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                    children.append((value_node, where))
                    continue
                _check_scalar(key_node, where)
                key = loader.construct_object(key_node)
                line = key_node.start_mark.line + 1
                problem = key_problem(key, key_node.value)
                if problem is not None:
                    raise SpecError(where, f"{problem} (line {line})")
                # 'é' typed as one character or as e and an accent: one name, shown alike
                same = unicodedata.normalize("NFC", key)
                if same in first:
                    earlier, written = first[same]
                    lines = f"line {line}" if earlier == line else f"lines {earlier} and {line}"
                    spellings = "" if written == key else \
                        f", spelled {written!a} and {key!a} in Unicode"
                    raise SpecError(
                        f"{where}.{key}", f"given twice in one mapping ({lines}{spellings}); "
                        "keep one"
                    )
                first[same] = (line, key)
                children.append((value_node, f"{where}.{key}"))
            stack.extend(reversed(children))


def _check_scalar(node: Any, where: str) -> None:
    """Raise ``SpecError`` at ``where`` for a plain integer with a leading zero (``017``): YAML
    1.1 reads it as octal, YAML 1.2 as decimal, and a user may have meant either, or text."""
    if node.tag == _LEADING_ZERO_TAG:
        text = node.value
        sign = "-" if text.startswith("-") else ""
        digits = text.lstrip("+-").replace("_", "")
        decimal = f"{sign}{int(digits)}"
        octal = f"{sign}0o{digits.lstrip('0') or '0'}"
        also = f", or {octal} for octal" if set(digits) <= set("01234567") else ""
        raise SpecError(where, f"{text} is ambiguous at line {node.start_mark.line + 1} (an "
                        f"integer with a leading zero): write '{text}' in quotes for text, "
                        f"{decimal} for decimal{also}")


def _reader_message(text: str, e: Any) -> str:
    line = text[: e.position].count("\n") + 1
    code = e.character if isinstance(e.character, int) else ord(str(e.character)[:1] or "?")
    return f"invalid YAML at line {line}: character U+{code:04X} is not allowed in YAML text"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


__all__ = ["loads_yaml", "parse_yaml", "read_yaml"]
