"""A small, safe HTML reader: a element tree for parsers and a text rendering for keywords.

Built on the standard library's ``html.parser``: nothing is fetched, rendered or executed, and
script and style content is dropped. Mail HTML is often sloppy (unclosed cells, attribute
rewrites such as ``nowrap=""``), so the tree builder closes what it must and never fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
_SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})
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
# A cell or row start closes an open cell or row: mail HTML forgets end tags.
_CLOSES = {
    "td": frozenset({"td", "th"}),
    "th": frozenset({"td", "th"}),
    "tr": frozenset({"td", "th", "tr"}),
    "li": frozenset({"li"}),
    "p": frozenset({"p"}),
}
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


class Element:
    __slots__ = ("attrs", "children", "parent", "tag")

    def __init__(self, tag: str, attrs: dict[str, str], parent: Element | None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[Element | str] = []
        self.parent = parent

    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()

    def iter(self, tag: str | None = None) -> Iterator[Element]:
        """This element and every descendant (document order), optionally of one tag."""
        stack: list[Element] = [self]
        while stack:
            node = stack.pop()
            if tag is None or node.tag == tag:
                yield node
            stack.extend(child for child in reversed(node.children) if isinstance(child, Element))

    def find_class(self, name: str) -> Iterator[Element]:
        return (node for node in self.iter() if name in node.classes())

    def cells(self) -> list[Element]:
        """The td/th children of a row (not those of nested tables)."""
        return [c for c in self.children if isinstance(c, Element) and c.tag in _CELL]

    def text(self) -> str:
        """The element's text with whitespace collapsed; block elements become spaces."""
        parts: list[str] = []
        _collect(self, parts, block_sep=" ", cell_sep=" ")
        return _SPACES.sub(" ", "".join(parts).replace("\n", " ")).strip()


def _collect(node: Element, parts: list[str], block_sep: str, cell_sep: str) -> None:
    for child in node.children:
        if isinstance(child, str):
            parts.append(child)
            continue
        if child.tag in _BLOCK:
            parts.append(block_sep)
        _collect(child, parts, block_sep, cell_sep)
        if child.tag in _CELL:
            parts.append(cell_sep)
        elif child.tag in _BLOCK:
            parts.append(block_sep)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {}, None)
        self.current = self.root
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
            return
        closes = _CLOSES.get(tag)
        if closes:
            # Only close within the nearest table/list, never across it.
            node: Element | None = self.current
            while node is not None and node.tag not in ("table", "ul", "ol", "#root"):
                if node.tag in closes:
                    self.current = node.parent or self.root
                    break
                node = node.parent
        element = Element(tag, {k: (v or "") for k, v in attrs}, self.current)
        self.current.children.append(element)
        if tag not in _VOID:
            self.current = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            return
        self.current.children.append(Element(tag, {k: (v or "") for k, v in attrs}, self.current))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
            return
        node: Element | None = self.current
        while node is not None and node.tag != "#root":
            if node.tag == tag:
                self.current = node.parent or self.root
                return
            node = node.parent
        # An end tag with no open match is ignored, as browsers do.

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.current.children.append(data)


def parse_html(markup: str) -> Element:
    """The element tree of ``markup``; never raises on malformed HTML."""
    builder = _TreeBuilder()
    try:
        builder.feed(markup)
        builder.close()
    except (AssertionError, ValueError):  # html.parser's last-resort errors on broken markup
        pass
    return builder.root


def html_to_text(markup: str | Element) -> str:
    """Readable text: block elements and rows become line breaks, cells end with a space.

    Cells keep a separator so that 'Duration' and '0:07:26' never run together.
    """
    root = parse_html(markup) if isinstance(markup, str) else markup
    parts: list[str] = []
    _collect(root, parts, block_sep="\n", cell_sep="\t")
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(parts).split("\n"))
    text = "\n".join(lines)
    return _BLANK_LINES.sub("\n\n", text).strip()
