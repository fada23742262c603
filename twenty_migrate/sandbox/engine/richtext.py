"""Markdown <-> BlockNote conversion for the writable rich-text fields (RICH_TEXT_V2, RICH_TEXT).

Twenty fills the missing half of ``bodyV2`` on the server: markdown becomes a BlockNote
document (a JSON string of blocks) and a BlockNote document becomes markdown (lossy:
colours, alignment and unknown block types are dropped). This is a small, deterministic
version of that conversion covering headings, paragraphs, lists, check lists, quotes, code
blocks and the inline styles bold, italic, strike, code and links.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

_NAMESPACE = uuid.UUID("0b5f8f2a-3c55-4d1e-8f0e-5a7a1c1d9b20")
_DEFAULT_PROPS: dict[str, Any] = {
    "textColor": "default",
    "backgroundColor": "default",
    "textAlignment": "left",
}
_INLINE_RE = re.compile(
    r"\[(?P<ltext>[^\]]*)\]\((?P<href>[^)\s]*)\)"
    r"|\*\*(?P<bold>.+?)\*\*"
    r"|__(?P<bold2>.+?)__"
    r"|~~(?P<strike>.+?)~~"
    r"|`(?P<code>[^`]+)`"
    r"|\*(?P<italic>[^*]+?)\*"
    r"|(?<![\w])_(?P<italic2>[^_]+?)_(?![\w])"
)


def markdown_to_blocknote(markdown: str) -> str:
    """A BlockNote document (JSON string) for ``markdown``."""
    blocks: list[dict[str, Any]] = []
    lines = markdown.replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            language = stripped[3:].strip() or "text"
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                body.append(lines[i])
                i += 1
            i += 1
            text = "\n".join(body)
            content = [_text(text, {})] if text else []
            blocks.append(_block(len(blocks), "codeBlock", {"language": language}, content))
            continue
        i += 1
        if not stripped:
            continue
        blocks.append(_line_block(len(blocks), stripped))
    return json.dumps(blocks, separators=(",", ":"))


def _line_block(index: int, line: str) -> dict[str, Any]:
    heading = re.match(r"^(#{1,6})\s+(.*)$", line)
    if heading:
        level = min(len(heading.group(1)), 3)
        return _block(index, "heading", {"level": level}, _inline(heading.group(2)))
    check = re.match(r"^[-*+]\s+\[([ xX])\]\s+(.*)$", line)
    if check:
        checked = check.group(1) != " "
        return _block(index, "checkListItem", {"checked": checked}, _inline(check.group(2)))
    bullet = re.match(r"^[-*+]\s+(.*)$", line)
    if bullet:
        return _block(index, "bulletListItem", {}, _inline(bullet.group(1)))
    numbered = re.match(r"^\d+[.)]\s+(.*)$", line)
    if numbered:
        return _block(index, "numberedListItem", {}, _inline(numbered.group(1)))
    quote = re.match(r"^>\s?(.*)$", line)
    if quote:
        return _block(index, "quote", {}, _inline(quote.group(1)))
    return _block(index, "paragraph", {}, _inline(line))


def _block(index: int, kind: str, props: dict[str, Any], content: list[Any]) -> dict[str, Any]:
    seed = f"{index}:{kind}:{json.dumps(content, sort_keys=True)}"
    all_props = dict(_DEFAULT_PROPS)
    if kind == "codeBlock":
        all_props = {}
    all_props.update(props)
    return {
        "id": str(uuid.uuid5(_NAMESPACE, seed)),
        "type": kind,
        "props": all_props,
        "content": content,
        "children": [],
    }


def _text(text: str, styles: dict[str, Any]) -> dict[str, Any]:
    return {"type": "text", "text": text, "styles": styles}


def _inline(text: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    pos = 0
    for match in _INLINE_RE.finditer(text):
        if match.start() > pos:
            items.append(_text(text[pos : match.start()], {}))
        pos = match.end()
        groups = match.groupdict()
        if groups["href"] is not None:
            items.append(
                {
                    "type": "link",
                    "href": groups["href"],
                    "content": [_text(groups["ltext"] or groups["href"], {})],
                }
            )
        elif groups["bold"] is not None or groups["bold2"] is not None:
            items.append(_text(groups["bold"] or groups["bold2"], {"bold": True}))
        elif groups["strike"] is not None:
            items.append(_text(groups["strike"], {"strike": True}))
        elif groups["code"] is not None:
            items.append(_text(groups["code"], {"code": True}))
        else:
            items.append(_text(groups["italic"] or groups["italic2"], {"italic": True}))
    if pos < len(text):
        items.append(_text(text[pos:], {}))
    return items


def blocknote_to_markdown(blocknote: str | list[Any]) -> str:
    """Markdown for a BlockNote document (JSON string or parsed list); lossy.

    Raises:
        ValueError: when the document is not a JSON list of blocks.
    """
    blocks = json.loads(blocknote) if isinstance(blocknote, str) else blocknote
    if not isinstance(blocks, list):
        raise ValueError("a BlockNote document is a list of blocks")
    lines: list[str] = []
    _render_blocks(blocks, lines, depth=0)
    return "\n\n".join(lines)


def _render_blocks(blocks: list[Any], lines: list[str], depth: int) -> None:
    number = 0
    for block in blocks:
        if not isinstance(block, dict):
            raise ValueError("a block is an object")
        kind = block.get("type")
        props = block.get("props") or {}
        text = _render_inline(block.get("content"))
        indent = "  " * depth
        number = number + 1 if kind == "numberedListItem" else 0
        if kind == "heading":
            level = int(props.get("level", 1)) if isinstance(props, dict) else 1
            lines.append(f"{'#' * level} {text}")
        elif kind == "bulletListItem":
            lines.append(f"{indent}- {text}")
        elif kind == "numberedListItem":
            lines.append(f"{indent}{number}. {text}")
        elif kind == "checkListItem":
            mark = "x" if isinstance(props, dict) and props.get("checked") else " "
            lines.append(f"{indent}- [{mark}] {text}")
        elif kind == "quote":
            lines.append(f"> {text}")
        elif kind == "codeBlock":
            language = props.get("language", "") if isinstance(props, dict) else ""
            language = "" if language == "text" else language
            lines.append(f"```{language}\n{text}\n```")
        elif text:
            lines.append(f"{indent}{text}")
        children = block.get("children")
        if isinstance(children, list) and children:
            _render_blocks(children, lines, depth + 1)


def _render_inline(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts: list[str] = []
    for item in content:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "link":
            parts.append(f"[{_render_inline(item.get('content'))}]({item.get('href', '')})")
            continue
        text = str(item.get("text", ""))
        styles = item.get("styles") or {}
        if isinstance(styles, dict) and text:
            if styles.get("code"):
                text = f"`{text}`"
            if styles.get("bold"):
                text = f"**{text}**"
            if styles.get("italic"):
                text = f"*{text}*"
            if styles.get("strike"):
                text = f"~~{text}~~"
        parts.append(text)
    return "".join(parts)
