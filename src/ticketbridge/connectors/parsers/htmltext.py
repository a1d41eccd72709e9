"""A small, safe HTML reader: an element tree for parsers and a text rendering for keywords.

The tree is built by Lexbor (selectolax), a C implementation of the HTML5 parsing algorithm:
sloppy mail HTML (unclosed cells and rows, stray end tags, ``</br>``, nested tables, attribute
rewrites such as ``nowrap=""``) is repaired the way browsers repair it, and a multi-megabyte
report parses in milliseconds where a tree built in Python took most of a second. Nothing is
fetched, rendered or executed; script, style, head, title, template and noscript are removed
before anything reads the tree, and comments (also Outlook's conditional ones) are never text.

``Element`` wraps a Lexbor node with the small interface the parsers use; two wrappers of one
node are equal (compare elements with ``==``, not ``is``). The text rendering (block elements
and rows on their own lines, cells kept apart) is ours: its separators are put into the tree
as text once, at parse time, so Lexbor renders every text in C.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from selectolax.lexbor import LexborHTMLParser, LexborNode

_SKIP = ("script", "style", "head", "title", "template", "noscript")
_BLOCK = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
        "caption",
    ]
)
_CELL = frozenset({"td", "th"})
# Where the text rendering puts separators (see _mark_boundaries).
_STRUCTURE = ",".join(sorted(_BLOCK | _CELL))
_TEXT = "-text"
_CSS_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


class Element:
    __slots__ = ("_node", "tag")

    def __init__(self, node: LexborNode) -> None:
        self._node = node  # keeps its document alive
        self.tag: str = node.tag or ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Element) and other._node.mem_id == self._node.mem_id

    def __hash__(self) -> int:
        return self._node.mem_id

    @property
    def attrs(self) -> dict[str, str]:
        return {k: v or "" for k, v in self._node.attributes.items()}

    @property
    def parent(self) -> Element | None:
        node = self._node.parent
        return None if node is None or not node.is_element_node else Element(node)

    @property
    def children(self) -> list[Element | str]:
        """Child elements and text in document order (comments left out)."""
        found: list[Element | str] = []
        for child in self._node.iter(include_text=True):
            if child.is_element_node:
                found.append(Element(child))
            elif child.tag == _TEXT:
                found.append(child.text_content or "")
        return found

    def classes(self) -> list[str]:
        return _classes(self._node)

    def iter(self, tag: str | None = None) -> Iterator[Element]:
        """This element and every descendant (document order), optionally of one tag."""
        if tag is None:
            nodes = self._node.traverse()  # starts with this element
        else:
            own = [self._node] if self.tag == tag else []
            nodes = iter(own + list(self._node.css(tag))) if _CSS_NAME.match(tag) else iter(own)
        return (Element(node) for node in nodes)

    def find_class(self, name: str) -> Iterator[Element]:
        # Mail HTML has no doctype, and quirks mode matches classes case-insensitively in CSS;
        # the exact check keeps the class hooks as exact as they were.
        if not _CSS_NAME.match(name):
            return iter(())
        own = [self._node] if name in self.classes() else []
        nodes = own + [n for n in self._node.css(f".{name}") if name in _classes(n)]
        return (Element(node) for node in nodes)

    def cells(self) -> list[Element]:
        """The td/th children of a row (not those of nested tables)."""
        return [Element(c) for c in self._node.iter() if c.tag in _CELL]

    def text(self) -> str:
        """The element's text with whitespace collapsed; block elements become spaces."""
        raw = self._node.text(deep=True)
        return _SPACES.sub(" ", raw.replace("\n", " ")).strip()


def _classes(node: LexborNode) -> list[str]:
    return (node.attributes.get("class") or "").split()


def parse_html(markup: str) -> Element:
    """The element tree of ``markup``; never raises on malformed HTML."""
    # Lexbor reads a str as UTF-8 whatever a <meta charset> says: the MIME layer decoded it.
    parser = LexborHTMLParser(markup)
    _drop_unread(parser)
    _mark_boundaries(parser)
    root = parser.root
    if root is None:  # Lexbor always makes <html>; a guard, not a case seen
        return parse_html("<html></html>")
    return Element(root)


def _drop_unread(parser: LexborHTMLParser) -> None:
    """Remove script, style and the like, content and all. Only the outermost of nested ones
    is destroyed, and only after all were looked at: a node inside one destroyed is freed."""
    found = parser.css(",".join(_SKIP))
    marked = {node.mem_id for node in found}
    outermost = []
    for node in found:
        ancestor = node.parent
        while ancestor is not None and ancestor.mem_id not in marked:
            ancestor = ancestor.parent
        if ancestor is None:
            outermost.append(node)
    for node in outermost:
        node.decompose()


def _mark_boundaries(parser: LexborHTMLParser) -> None:
    """Put the text rendering's separators into the tree as text: a line break before and
    after each block element, a tab after each cell. Lexbor's own text then renders both
    html_to_text and Element.text in C."""
    for node in parser.css(_STRUCTURE):
        if node.tag in _CELL:
            node.insert_after("\t")
        else:
            node.insert_before("\n")
            node.insert_after("\n")


def html_to_text(markup: str | Element) -> str:
    """Readable text: block elements and rows become line breaks, cells end with a space.

    Cells keep a separator so that 'Duration' and '0:07:26' never run together.
    """
    root = parse_html(markup) if isinstance(markup, str) else markup
    lines = (_SPACES.sub(" ", line).strip() for line in root._node.text(deep=True).split("\n"))
    text = "\n".join(lines)
    return _BLANK_LINES.sub("\n\n", text).strip()
