"""X-Robots-Tag parsing: generic and crawler-scoped directives, values that look like scopes."""

from __future__ import annotations

import pytest

from operators.fetch.robots import opted_out, parse_directives, robots_token

OPT_OUTS = ("noai", "noimageai", "noindex", "noimageindex", "none")


def test_robots_token_is_the_product_name():
    assert robots_token("ccpairs/0.1 (+https://github.com/ccpairs/ccpairs)") == "ccpairs"
    assert robots_token("  MyBot ") == "mybot"


def test_parse_directives_scopes_carry_to_the_following_directives():
    assert parse_directives("otherbot: noindex, nofollow") == [("otherbot", "noindex"), ("otherbot", "nofollow")]
    assert parse_directives("noai, ccpairs: noimageai") == [(None, "noai"), ("ccpairs", "noimageai")]
    assert parse_directives("max-image-preview: none, unavailable_after: 25 Jun 2010 15:00:00 PST") == [
        (None, "max-image-preview"), (None, "unavailable_after")]


@pytest.mark.parametrize("values,expected", [
    (["noai"], True),
    (["NoImageAI"], True),
    (["all"], False),
    ([], False),
    (["googlebot: noindex"], False),
    (["googlebot: noindex", "ccpairs: none"], True),
    (["max-image-preview: none"], False),
    (["noarchive, nosnippet"], False),
    (["otherbot: all, ccpairs: noai"], True),
])
def test_opted_out(values, expected):
    assert opted_out(values, "ccpairs", OPT_OUTS) is expected


def test_directive_list_is_configurable():
    assert opted_out(["noindex"], "ccpairs", ("noai",)) is False
