"""report.md: the document's blocks as GitHub-flavoured Markdown; charts linked as files beside it."""

from __future__ import annotations

from collections.abc import Iterable

from .document import Alert, Block, Bullets, Figure, Heading, KeyValues, Paragraph, Table


def render(blocks: Iterable[Block]) -> str:
    return "\n\n".join(_block(b) for b in blocks).rstrip() + "\n"


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        return "#" * block.level + " " + block.text
    if isinstance(block, Paragraph):
        return block.text
    if isinstance(block, Alert):
        # GitHub renders "> [!WARNING]" as a coloured callout; elsewhere it is still a readable quote.
        kind = "WARNING" if block.level == "warning" else "NOTE"
        return "\n".join([f"> [!{kind}]", f"> **{block.title}**", *(f"> - {line}" for line in block.lines)])
    if isinstance(block, Table):
        return table(block.header, block.rows, block.numeric)
    if isinstance(block, Bullets):
        return "\n".join(f"- {item}" for item in block.items)
    if isinstance(block, KeyValues):
        return "\n".join(f"- **{key}**: {value}" for key, value in block.items)
    if isinstance(block, Figure):
        chart = block.chart
        return f"### {chart.title}\n\n![{chart.title}]({chart.png.name})\n\n{chart.caption} ([SVG]({chart.svg.name}))"
    raise TypeError(f"unknown block {block!r}")


def table(header: tuple[str, ...], rows: tuple[tuple[str, ...], ...], numeric: tuple[bool, ...] = ()) -> str:
    align = [("---:" if n else "---") for n in (numeric or (False,) * len(header))]
    lines = ["| " + " | ".join(map(_cell, header)) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(map(_cell, row)) + " |" for row in rows]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
