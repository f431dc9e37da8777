"""A topic shown in the Temporal UI's markdown summary renders as the text it is."""

from __future__ import annotations

from core.text import markdown_literal


def test_markdown_and_html_are_escaped() -> None:
    topic = "**bold** [click](http://evil.test) ![img](x) <script>x</script> # heading\nline"
    escaped = markdown_literal(topic)
    assert escaped == (
        r"\*\*bold\*\* \[click\]\(http://evil\.test\) \!\[img\]\(x\) \<script\>x\</script\> \# heading line"
    )
    assert markdown_literal("octopus hearts") == "octopus hearts"
