"""Report text made fit for a ticket (design §5A.6: no raw dumps)."""

from __future__ import annotations

from ticketbridge.core.plain_text import cap, clean_block, clean_message, strip_html


def test_5a_6_plain_text_with_angle_brackets_is_left_alone() -> None:
    assert strip_html("free space < 10% and > 2 GB") == "free space < 10% and > 2 GB"


def test_5a_6_script_and_style_content_is_dropped_and_entities_decoded() -> None:
    html = "<style>p{x:y}</style><script>alert(1)</script><p>A&nbsp;&amp;&#x42;</p>"
    assert strip_html(html).strip() == "A\u00a0&B"
    assert clean_message(html, 100) == "A &B"


def test_5a_6_paragraphs_and_breaks_become_line_breaks_in_a_remark() -> None:
    assert clean_block("<p>one</p><p>two<br>three</p>", 100) == "one\n\ntwo\nthree"


def test_5a_6_remark_keeps_at_most_one_blank_line() -> None:
    assert clean_block("a\n\n\n\n  b  \r\n\tc", 100) == "a\n\nb\nc"


def test_5a_6_python_traceback_is_dropped() -> None:
    text = 'Job failed\nTraceback (most recent call last):\n  File "x.py", line 1\nKeyError'
    assert clean_message(text, 100) == "Job failed"


def test_5a_6_cap_prefers_a_word_boundary_and_marks_the_cut() -> None:
    assert cap("alpha beta gamma delta", 19) == "alpha beta gamma…"
    assert cap("alpha beta gamma delta", 15) == "alpha beta gam…"
    assert cap("abcdefghij", 5) == "abcd…"
    assert cap("short", 5) == "short"
    assert cap("anything", 0) == ""
