"""The claims as text: the plain table `lthbench claims` prints and the Markdown of docs/reproduction.md."""

from __future__ import annotations

import re

from .claim import Claim


def format_claims(claims: list[Claim]) -> str:
    """Plain-text table of the claims."""
    if not claims:
        return "no claims: no IMP curves in these results"
    header = ["figure", "task", "claim", "quantity", "value [95% CI]", "verdict", "threshold"]
    rows = [[c.figure, c.task, c.claim, c.quantity, c.value_text(), c.verdict, c.threshold] for c in claims]
    widths = [min(60, max(len(h), *(len(r[i]) for r in rows))) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    methods = sorted({c.method for c in claims if c.method})
    lines.append("method(s): " + ", ".join(methods) + "; CIs: see each claim's ci (bootstrap or t over seeds)")
    return "\n".join(lines)


def _md(text: str) -> str:
    return re.sub(r"\|", "\\|", text)


def claims_markdown(claims: list[Claim]) -> str:
    """Markdown table of the claims (docs/reproduction.md's generated section)."""
    lines = [
        "| figure | task | claim | quantity | ours [95% CI] | paper | verdict (threshold) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in claims:
        lines.append(
            "| "
            + " | ".join(
                _md(x)
                for x in (
                    c.figure,
                    c.task,
                    c.claim,
                    c.quantity,
                    c.value_text(),
                    c.paper,
                    f"{c.verdict} ({c.threshold}; CI: {c.ci})" if c.threshold else c.verdict,
                )
            )
            + " |"
        )
    return "\n".join(lines)
