"""Pictures for the impact reports: the old → new transition matrix as inline SVG, and the
self-contained HTML page around it (no script, no style sheet or font from elsewhere, so the
page reads the same offline, attached to a change request).

Rows are the old value, columns the new, both in the output's priority order (most urgent
first), so that every cell right of the diagonal is down-triage (red) and every cell left of
it up-triage (amber); the diagonal is unchanged (grey).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

CELL = 46
COLOURS = {"down": "#c62828", "up": "#ef8f00", "same": "#9e9e9e"}


def matrix_svg(title: str, labels: Sequence[str], counts: Mapping[tuple[int, int], int]) -> str:
    """``counts[(i, j)]``: how many went from ``labels[i]`` to ``labels[j]`` (indices in
    priority order: a larger index is less urgent)."""
    n = len(labels)
    left = 12 + 7 * max((len(s) for s in labels), default=4)
    top = 40 + 7 * max((len(s) for s in labels), default=4)
    width, height = left + n * CELL + 20, top + n * CELL + 44
    most = max(counts.values(), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}" '
        'font-family="sans-serif" font-size="12">',
        f'<title>{_e(title)}</title>',
        f'<text x="{left}" y="16" font-weight="bold">{_e(title)}</text>',
        f'<text x="{left + n * CELL / 2}" y="32" text-anchor="middle">new →</text>',
        f'<text x="8" y="{top - 6}">old ↓</text>',
    ]
    for j, label in enumerate(labels):
        x = left + j * CELL + CELL / 2
        parts.append(f'<text transform="translate({x + 4},{top - 6}) rotate(-60)">'
                     f'{_e(label)}</text>')
    for i, label in enumerate(labels):
        y = top + i * CELL
        parts.append(f'<text x="{left - 6}" y="{y + CELL / 2 + 4}" text-anchor="end">'
                     f'{_e(label)}</text>')
        for j in range(n):
            count = counts.get((i, j), 0)
            kind = "same" if i == j else "down" if j > i else "up"
            shade = 0.08 + 0.92 * (count / most) if count else 0.0
            x = left + j * CELL
            parts.append(
                f'<rect x="{x}" y="{y}" width="{CELL - 2}" height="{CELL - 2}" '
                f'fill="{COLOURS[kind]}" fill-opacity="{shade:.2f}" stroke="#ddd">'
                f'<title>{_e(label)} → {_e(labels[j])}: {count:,} ({kind})</title></rect>'
            )
            if count:
                colour = "#fff" if shade > 0.5 else "#000"
                parts.append(f'<text x="{x + (CELL - 2) / 2}" y="{y + CELL / 2 + 3}" '
                             f'text-anchor="middle" fill="{colour}">{_short(count)}</text>')
    legend_y = top + n * CELL + 22
    for k, (kind, words) in enumerate((("down", "down-triage"), ("up", "up-triage"),
                                       ("same", "unchanged"))):
        x = left + k * 110
        parts.append(f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" '
                     f'fill="{COLOURS[kind]}"/><text x="{x + 16}" y="{legend_y}">{words}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _short(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f}M"
    if count >= 10_000:
        return f"{count // 1000}k"
    return f"{count:,}"


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def page(title: str, body: str) -> str:
    """A complete HTML page, styled inline."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{_e(title)}</title><style>"
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
        "th{background:#f3f3f3}.down{color:#b71c1c;font-weight:bold}.up{color:#a15c00}"
        "code{background:#f6f6f6;padding:0 3px}.note{color:#555}"
        f"</style></head><body><h1>{_e(title)}</h1>\n{body}\n</body></html>\n"
    )


def escape(text: object) -> str:
    return _e(str(text))
