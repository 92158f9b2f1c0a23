"""X-Robots-Tag opt-outs: a site that says `noai` (for everyone or for our token) is not used.

Grammar (Google's): a header value is comma-separated directives, optionally preceded by a
`token:` that scopes the directives after it to one crawler, e.g. `otherbot: noai, noindex`.
Directives with values (`max-image-preview: none`, `unavailable_after: <date>`) are not scopes.
"""

from __future__ import annotations

import re
from typing import Iterable

# directives that take a value after a colon; anything else before a colon is a crawler token
VALUE_DIRECTIVES = frozenset({"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"})
_SCOPED = re.compile(r"^\s*([A-Za-z0-9._\-]+)\s*:\s*(.*)$", re.S)


def robots_token(user_agent: str) -> str:
    """The crawler token of a User-Agent: its first product name, lowercased ("ccpairs")."""
    return user_agent.strip().split("/", 1)[0].split()[0].lower()


def parse_directives(value: str) -> list[tuple[str | None, str]]:
    """[(scope token or None, directive)] of one header value, all lowercased."""
    out: list[tuple[str | None, str]] = []
    scope: str | None = None
    for part in value.split(","):
        part = part.strip()
        match = _SCOPED.match(part)
        if match and match.group(1).lower() not in VALUE_DIRECTIVES:
            scope, part = match.group(1).lower(), match.group(2).strip()
        directive = part.split(":", 1)[0].strip().lower()
        if directive:
            out.append((scope, directive))
    return out


def opted_out(header_values: Iterable[str], token: str, directives: Iterable[str]) -> bool:
    """True if any X-Robots-Tag value forbids use, generically or for `token`."""
    refused = {d.lower() for d in directives}
    token = token.lower()
    for value in header_values:
        for scope, directive in parse_directives(value):
            if directive in refused and (scope is None or scope == token):
                return True
    return False
