"""index.html: one self-contained page (charts as data URIs, inline CSS, no network), readable on a phone.

Wide tables first wrap (header names break after underscores, "mean ± sd" and "low – high" cells break
before their second number), and only when they still do not fit scroll sideways inside their own box, with
a shadow at the edge that hides columns, instead of widening the page or clipping. A few lines of inline
script mark each image's decode status (``data-decoded``) so a headless browser check can read it from
the DOM; the page does not need the script to display.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from html import escape

from .document import Alert, Block, Bullets, Figure, Heading, KeyValues, Paragraph, Table

CSS = """
:root { color-scheme: light; --fg: #1d232a; --muted: #5b6570; --line: #d8dde3; --warn: #a15c00; --warn-bg: #fff6e5;
        --note: #0b5cad; --note-bg: #eef5fd; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1320px; padding: 1rem; font: 15px/1.5 system-ui, -apple-system, "Segoe UI",
       Roboto, sans-serif; color: var(--fg); background: #fff; }
h1 { font-size: 1.45rem; margin: .2rem 0 .6rem; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 1.8rem 0 .6rem; padding-bottom: .2rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.02rem; margin: 1.2rem 0 .4rem; }
p { margin: .5rem 0; overflow-wrap: anywhere; }
p.small { color: var(--muted); font-size: .85rem; }
.alert { border-left: 4px solid var(--warn); background: var(--warn-bg); padding: .5rem .8rem; margin: .8rem 0;
         border-radius: 4px; }
.alert.note { border-color: var(--note); background: var(--note-bg); }
.alert strong { display: block; }
.alert ul { margin: .3rem 0 0; padding-left: 1.2rem; }
.alert li { overflow-wrap: anywhere; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; margin: .6rem 0; border: 1px solid var(--line);
          border-radius: 4px;
          /* Scroll shadows: the local white covers fade out as the box scrolls to that edge, uncovering
             the fixed shadows, so a reader sees there are columns beyond the edge even where the browser
             hides scrollbars. */
          background: linear-gradient(to right, #fff 40%, #fff0) left / 1.5rem 100% no-repeat local,
                      linear-gradient(to left, #fff 40%, #fff0) right / 1.5rem 100% no-repeat local,
                      radial-gradient(farthest-side at 0 50%, #0003, #0000) left / .6rem 100% no-repeat scroll,
                      radial-gradient(farthest-side at 100% 50%, #0003, #0000) right / .6rem 100% no-repeat scroll; }
table { border-collapse: collapse; font-size: .85rem; font-variant-numeric: tabular-nums; min-width: 100%; }
th, td { padding: .3rem .45rem; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { white-space: normal; vertical-align: bottom; }
td.wrap { white-space: normal; }
td.wrap span { white-space: nowrap; }
th.num, td.num { text-align: right; }
th { background: #f4f6f8; position: sticky; top: 0; }
th:first-child, td:first-child { position: sticky; left: 0; background: #fff; }
th:first-child { background: #f4f6f8; }
td.prose { white-space: normal; min-width: 10rem; }
tr:last-child td { border-bottom: 0; }
ul { margin: .5rem 0; padding-left: 1.3rem; }
li { margin: .25rem 0; overflow-wrap: anywhere; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .5rem 0; font-size: .9rem; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
figure { margin: 1rem 0 1.6rem; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: .85rem; margin-top: .3rem; }
@media (max-width: 600px) { body { padding: .6rem; font-size: 14px; } h1 { font-size: 1.2rem; } }
"""

#: Records each image's decode result on the element, for the headless-browser check.
DECODE_SCRIPT = (
    "addEventListener('load',function(){for(var i of document.images){"
    "i.dataset.decoded=String(i.complete&&i.naturalWidth>0);}"
    "document.body.dataset.imagesChecked=document.images.length;});"
)


def render(blocks: Iterable[Block], title: str) -> str:
    body = "\n".join(_block(b) for b in blocks)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n"
        f"<script>{DECODE_SCRIPT}</script>\n</body>\n</html>\n"
    )


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{escape(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        return f"<p{' class=small' if block.small else ''}>{escape(block.text)}</p>"
    if isinstance(block, Alert):
        items = "".join(f"<li>{escape(line)}</li>" for line in block.lines)
        return (
            f'<div class="alert {block.level}" role="note"><strong>{escape(block.title)}</strong><ul>{items}</ul></div>'
        )
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in block.items) + "</ul>"
    if isinstance(block, KeyValues):
        items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in block.items)
        return f"<dl>{items}</dl>"
    if isinstance(block, Figure):
        chart = block.chart
        data = base64.b64encode(chart.png_bytes).decode("ascii")
        return (
            f'<figure id="chart-{chart.name}"><h3>{escape(chart.title)}</h3>'
            f'<img src="data:image/png;base64,{data}" alt="{escape(chart.title)}" data-chart="{chart.name}">'
            f'<figcaption>{escape(chart.caption)} <a href="{escape(chart.svg.name)}">SVG</a></figcaption></figure>'
        )
    raise TypeError(f"unknown block {block!r}")


#: Where a cell may wrap: before the second number of "mean ± sd", "low – high" and "mean [low, high]".
_CELL_BREAK = re.compile(r" (?=[±–\[])")


def _table(block: Table) -> str:
    kinds = ["num" if n else "prose" if p else "" for n, p in zip(block.numeric, block.prose)]
    head = "".join(
        f'<th scope="col"{" class=num" if k == "num" else ""}>{_header(h)}</th>' for h, k in zip(block.header, kinds)
    )
    rows = "".join("<tr>" + "".join(_cell(v, k) for v, k in zip(row, kinds)) + "</tr>" for row in block.rows)
    return f'<div class="scroll"><table id="table-{block.name}"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'


def _header(text: str) -> str:
    # summary.csv's column names (step_ms_median) are long single words: let them break after underscores.
    return "_<wbr>".join(escape(part) for part in text.split("_"))


def _cell(text: str, kind: str) -> str:
    parts = _CELL_BREAK.split(text)
    if len(parts) == 1:
        return f"<td{f' class={kind}' if kind else ''}>{escape(text)}</td>"
    spans = " ".join(f"<span>{escape(p)}</span>" for p in parts)
    return f'<td class="{(kind + " wrap").strip()}">{spans}</td>'
