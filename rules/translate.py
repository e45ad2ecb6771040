"""Surface syntax: Chinese labels and 万/亿 amounts -> plain rule-engine text, keeping a position map.

Only text OUTSIDE string literals is rewritten, so ``'研发费用'`` stays a string. Full-width characters outside
literals are folded with NFKC (＞＝ -> >=). Every character of the output maps back to an offset in the
original text, so errors point at what the person typed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from rules.errors import RuleSyntaxError, UnknownNameError
from rules.vocabulary import AS_OF, AS_OF_LABEL, FIELDS, LABELS, nearest_field

_IDENT = re.compile(r"\$?[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"(\d+(?:\.\d*)?)[ \t]*([万亿])?(元)?")
_SUFFIX = {"万": Decimal(10) ** 4, "亿": Decimal(10) ** 8}
_LABELS: dict[str, str] = {**LABELS, AS_OF_LABEL: AS_OF}
_LABEL_LENGTHS = sorted({len(label) for label in _LABELS}, reverse=True)
_CODE_LABELS: dict[str, str] = {code: f.label for code, f in FIELDS.items()} | {AS_OF: AS_OF_LABEL}


@dataclass(frozen=True)
class Translation:
    """``text``: plain rule-engine text; ``positions[i]``: offset in the original of ``text[i]`` (one extra
    entry for the end); ``zh``: the original with field codes replaced by Chinese labels."""

    text: str
    positions: tuple[int, ...]
    zh: str

    def original_position(self, index: int | None) -> int | None:
        if index is None:
            return None
        return self.positions[max(0, min(index, len(self.positions) - 1))]


def _is_ident_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in "_$")


def _plain(number: Decimal) -> str:
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def translate(text: str) -> Translation:
    """Rewrite labels and amount suffixes. Raises UnknownNameError for an unknown Chinese name and
    RuleSyntaxError for an unterminated string."""
    out: list[str] = []
    pos: list[int] = []
    zh: list[str] = []

    def emit(chunk: str, at: int) -> None:
        out.append(chunk)
        pos.extend([at] * len(chunk))

    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"":
            j = i + 1
            while j < n and text[j] != ch:
                if text[j] == "\n":
                    break
                j += 2 if text[j] == "\\" else 1
            if j >= n or text[j] != ch:
                raise RuleSyntaxError("字符串没有结束引号（unterminated string）", position=i, text=text)
            for k in range(i, j + 1):
                emit(text[k], k)
            zh.append(text[i : j + 1])
            i = j + 1
            continue
        m = _IDENT.match(text, i)
        if m and (i == 0 or not _is_ident_char(text[i - 1])):
            word = m.group(0)
            for k in range(i, m.end()):
                emit(text[k], k)
            zh.append(_CODE_LABELS.get(word, word))
            i = m.end()
            continue
        m = _NUMBER.match(text, i)
        if m and (i == 0 or not (_is_ident_char(text[i - 1]) or text[i - 1] == ".")):
            number = Decimal(m.group(1))
            if m.group(2):
                number *= _SUFFIX[m.group(2)]
            emit(_plain(number) if m.group(2) else m.group(1), i)
            zh.append(m.group(0))
            i = m.end()
            continue
        label = next((text[i : i + ln] for ln in _LABEL_LENGTHS if text[i : i + ln] in _LABELS), None)
        if label:
            code = _LABELS[label]
            before = out[-1][-1:] if out else ""
            after = text[i + len(label)] if i + len(label) < n else ""
            pad_l = " " if before and _is_ident_char(before) else ""
            pad_r = " " if after and _is_ident_char(after) else ""
            emit(pad_l + code + pad_r, i)
            zh.append(label)
            i += len(label)
            continue
        folded = unicodedata.normalize("NFKC", ch)
        if not folded.isascii():
            j = i
            while j < n and not text[j].isascii() and not text[j].isspace() and text[j] not in "（）【】，":
                j += 1
            word = text[i:max(j, i + 1)]
            hint = nearest_field(word)
            tail = f"，是否指 {hint.code}（{hint.label}）？(did you mean {hint.code} ({hint.label}))" if hint else ""
            raise UnknownNameError(
                f"未知名称“{word}”{tail}", position=i, found=word, suggestion=hint.code if hint else None, text=text
            )
        emit(folded, i)
        zh.append(ch)
        i += 1
    pos.append(n)
    return Translation("".join(out), tuple(pos), "".join(zh))
