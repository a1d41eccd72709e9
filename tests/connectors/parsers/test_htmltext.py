"""Reading broken mail HTML: what the parsers get from the tree and the text rendering."""

from __future__ import annotations

from ticketbridge.connectors.parsers.htmltext import html_to_text, parse_html


def _rows(markup: str) -> list[list[str]]:
    return [[cell.text() for cell in row.cells()] for row in parse_html(markup).iter("tr")]


def test_rows_and_cells_left_open_are_closed_as_browsers_do() -> None:
    markup = "<table><tr><td>Name<td>Status<tr><td>VM1<td>Success</table><p>after"
    assert _rows(markup) == [["Name", "Status"], ["VM1", "Success"]]
    assert html_to_text(markup) == "Name Status\n\nVM1 Success\n\nafter"


def test_a_nested_table_keeps_its_rows_and_its_cell_text_in_the_outer_cell() -> None:
    markup = (
        "<table><tr><td>outer<table><tr><td>in1</td><td>in2</td></tr></table></td>"
        "<td>o2</td></tr></table>"
    )
    assert _rows(markup) == [["outer in1 in2", "o2"], ["in1", "in2"]]


def test_a_line_break_in_a_cell_separates_its_lines() -> None:
    markup = "<table><tr><td>Error: a<br>Error: b</br>c</td><td>x</td></tr></table>"
    assert _rows(markup) == [["Error: a Error: b c", "x"]]
    assert html_to_text(markup) == "Error: a\n\nError: b\n\nc x"


def test_entities_are_decoded_and_no_break_spaces_collapse() -> None:
    assert html_to_text("<p>Caf&eacute; &amp; &lt;b&gt;&nbsp;&nbsp;x &#8364; &copy</p>") == (
        "Café & <b> x € ©"
    )


def test_comments_and_outlook_conditional_comments_are_never_text() -> None:
    markup = (
        "<p>a<!-- hidden -->b</p><!--[if mso]><p>mso only</p><![endif]-->"
        "<![if !mso]><p>shown</p><![endif]><p>c<!-- never closed <p>d"
    )
    assert html_to_text(markup) == "ab\n\nshown\n\nc"


def test_script_style_and_noscript_content_is_dropped_even_when_nested_or_unclosed() -> None:
    markup = (
        "<head><title>t</title><style>td{}</style></head><p>kept</p>"
        "<noscript><style>x{}</style><script>y()</script>ns</noscript><p>too</p><script>z<p>no"
    )
    assert html_to_text(markup) == "kept\n\ntoo"


def test_a_charset_in_the_html_does_not_re_decode_text_the_mime_layer_decoded() -> None:
    assert html_to_text('<meta charset="iso-8859-1"><p>Größe</p>') == "Größe"


def test_class_hooks_match_exactly_and_an_element_equals_itself_found_again() -> None:
    root = parse_html(
        '<table><tr class="Header"><td>a</td></tr><tr class="header"><td>b</td></table>'
    )
    [header] = root.find_class("header")
    assert header.cells()[0].text() == "b"
    table = header.parent
    assert table is not None and header.parent == table and header != table
    rows = [c for c in table.children if not isinstance(c, str) and c.tag == "tr"]
    assert rows.index(header) == 1


def test_empty_or_markup_free_input_gives_an_empty_text() -> None:
    assert html_to_text("") == ""
    assert html_to_text("<!-- only a comment -->") == ""
    assert parse_html("").text() == ""
