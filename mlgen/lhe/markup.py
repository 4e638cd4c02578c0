"""XML markup in LHE headers: text copied in escaped on the way out, literal sections skipped on the way in.

An LHE file is XML up to its events: pylhe and Pythia 8 parse the header as such, and mlgen's
reader finds ``</header>``, ``<init>`` and ``<initrwgt>`` in it. Whatever mlgen copies into a
header from outside (a card's text, a path, a weight's name, a file name in a note) therefore
goes through these functions, so that no content can close a tag, open one, or end a comment:

- :func:`cdata` holds any text exactly (a ``]]>`` inside is split across two sections);
- :func:`attribute` quotes an attribute value (``&``, ``<``, ``>``, both quotes, line ends);
- :func:`escape_text` escapes element text;
- :func:`comment` makes a comment of any text (``--`` cannot end it early).

On the way in, :func:`blank_literals` hides the contents of CDATA sections and comments
(same length, line ends kept, so offsets and line numbers stay right) before tags are searched,
and :func:`unescape` reads attribute values and element text back.
"""

from __future__ import annotations

__all__ = ["attribute", "attribute_value", "blank_literals", "cdata", "comment", "escape_text", "unescape"]

import re
from typing import AnyStr
from xml.sax.saxutils import escape
from xml.sax.saxutils import unescape as _sax_unescape

_ENTITIES = {"&quot;": '"', "&apos;": "'", "&#10;": "\n", "&#13;": "\r", "&#9;": "\t"}


def cdata(text: str) -> str:
    """A CDATA section whose content is ``text`` exactly, whatever it holds."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


_ATTRIBUTE_ENTITIES = {'"': "&quot;", "'": "&apos;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}


def attribute(value: str) -> str:
    """``value`` as a quoted XML attribute value (quotes included)."""
    return f'"{attribute_value(value)}"'


def attribute_value(value: str) -> str:
    """``value`` escaped to go between either kind of quotes (no quote character is left in it).

    One spelling for one value: the ``<wgt id='...'>`` of every event matches its ``<weight id="...">``
    in the header character for character."""
    return escape(value, _ATTRIBUTE_ENTITIES)


def escape_text(value: str) -> str:
    """``value`` as XML element text (``&``, ``<``, ``>`` escaped)."""
    return escape(value)


def comment(text: str) -> str:
    """An XML comment saying ``text``; a ``--`` in it (not allowed in a comment) becomes ``- -``."""
    while "--" in text:
        text = text.replace("--", "- -")
    if text.endswith("-"):
        text += " "
    return f"<!-- {text} -->"


def unescape(value: str) -> str:
    """An attribute value or element text as written by :func:`attribute` or :func:`escape_text`."""
    return _sax_unescape(value, _ENTITIES) if "&" in value else value


# a section left open at the end (a buffer cut mid-header) is hidden to the end, so that nothing
# inside it is taken for a tag before the rest arrives
_LITERAL_STR = re.compile(r"<!\[CDATA\[.*?(?:\]\]>|\Z)|<!--.*?(?:-->|\Z)", re.S)
_LITERAL_BYTES = re.compile(rb"<!\[CDATA\[.*?(?:\]\]>|\Z)|<!--.*?(?:-->|\Z)", re.S)
_NOT_NEWLINE_STR = re.compile(r"[^\n]")
_NOT_NEWLINE_BYTES = re.compile(rb"[^\n]")


def blank_literals(text: AnyStr) -> AnyStr:
    """``text`` with the contents of its CDATA sections and comments replaced by spaces.

    The delimiters stay; so do the length and every line end: an offset or a line number found
    in the result is right in ``text``. Search the result for tags, and cut ``text`` itself.
    """
    if isinstance(text, bytes):
        if b"<!" not in text:
            return text
        return _LITERAL_BYTES.sub(lambda m: _blank_bytes(m.group()), text)
    if "<!" not in text:
        return text
    return _LITERAL_STR.sub(lambda m: _blank_str(m.group()), text)


def _blank_str(section: str) -> str:
    head, tail = (9, 3) if section.startswith("<![CDATA[") else (4, 3)
    if not section.endswith("]]>" if head == 9 else "-->") or len(section) < head + tail:
        tail = 0
    inner = _NOT_NEWLINE_STR.sub(" ", section[head : len(section) - tail])
    return section[:head] + inner + section[len(section) - tail :]


def _blank_bytes(section: bytes) -> bytes:
    head, tail = (9, 3) if section.startswith(b"<![CDATA[") else (4, 3)
    if not section.endswith(b"]]>" if head == 9 else b"-->") or len(section) < head + tail:
        tail = 0
    inner = _NOT_NEWLINE_BYTES.sub(b" ", section[head : len(section) - tail])
    return section[:head] + inner + section[len(section) - tail :]
