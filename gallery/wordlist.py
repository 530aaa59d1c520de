"""The sensitive-word list as CSV: staff export it and import it in the admin.

The columns are those of the shipped list (gallery/data/sensitive_words.csv): `word`,
`category` (a code of SensitiveCategory.Code), `mode` (block, mask or allow) and `language`
(zh or en, for people sorting the file; it is made from the word and ignored on import), plus
`is_active` on export. An import is all or nothing: one bad row and nothing is written, and
every bad row is reported with its line number.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from . import audit
from .models import SensitiveCategory, SensitiveWord

COLUMNS = ["word", "category", "mode", "language", "is_active"]
REQUIRED = {"word", "category", "mode"}
MAX_BYTES = 1_000_000
MAX_WORD = SensitiveWord._meta.get_field("word").max_length
TRUE = {"1", "true", "yes", "y", "on", "是"}
FALSE = {"0", "false", "no", "n", "off", "否"}
# A spreadsheet runs a cell starting with one of these as a formula; export quotes it with '.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ImportRefused(Exception):
    """The file as a whole cannot be read; the message is safe to show staff."""


@dataclass(frozen=True)
class Row:
    line: int
    word: str
    category: str
    mode: str
    is_active: bool | None  # None: the column is absent or empty (a new word is active)


@dataclass
class Imported:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0


def language_of(word: str) -> str:
    return "en" if word.isascii() else "zh"


def _cell(value: str) -> str:
    return "'" + value if value[:1] in FORMULA_STARTS else value


def export_csv(words) -> str:
    """The words as CSV text, with a byte-order mark so spreadsheets read the Chinese as UTF-8."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for word in words:
        writer.writerow(
            [
                _cell(word.word),
                word.category_id,
                word.mode,
                language_of(word.word),
                "1" if word.is_active else "0",
            ]
        )
    return buffer.getvalue()


def _decode(data: bytes) -> str:
    # Spreadsheets on Chinese Windows save CSV as GB18030 (GBK); everything else as UTF-8.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportRefused(_("The file is neither UTF-8 nor GB18030 text."))


def parse_csv(data: bytes) -> tuple[list[Row], list[str]]:
    """The rows of an uploaded file and the problems found, one message per bad row."""
    if len(data) > MAX_BYTES:
        raise ImportRefused(_("The file is larger than %(size)d bytes.") % {"size": MAX_BYTES})
    reader = csv.DictReader(io.StringIO(_decode(data), newline=""))
    header = {name.strip().lower() for name in (reader.fieldnames or []) if name}
    missing = REQUIRED - header
    if missing:
        raise ImportRefused(
            _("The first line must name the columns word, category and mode (missing: %(columns)s).")
            % {"columns": ", ".join(sorted(missing))}
        )
    categories = set(SensitiveCategory.Code.values)
    modes = set(SensitiveWord.Mode.values)
    rows: list[Row] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):
        values = {(key or "").strip().lower(): (value or "").strip() for key, value in raw.items() if key}
        word = values.get("word", "")
        if word.startswith("'") and word[1:2] in FORMULA_STARTS:
            word = word[1:]  # the quote our export put before a formula-like cell
        category = values.get("category", "").lower()
        mode = values.get("mode", "").lower()
        active_text = values.get("is_active", "").lower()
        if not any(values.values()):
            continue  # a blank line
        problem = None
        if not word:
            problem = _("the word is empty")
        elif len(word) > MAX_WORD:
            problem = _("the word is longer than %(max)d characters") % {"max": MAX_WORD}
        elif category not in categories:
            problem = _("unknown category “%(value)s” (one of: %(choices)s)") % {
                "value": category,
                "choices": ", ".join(sorted(categories)),
            }
        elif mode not in modes:
            problem = _("unknown mode “%(value)s” (one of: %(choices)s)") % {
                "value": mode,
                "choices": ", ".join(sorted(modes)),
            }
        elif active_text and active_text not in TRUE | FALSE:
            problem = _("is_active must be 1 or 0, not “%(value)s”") % {"value": active_text}
        elif word in seen:
            problem = _("the word is already on line %(line)d") % {"line": seen[word]}
        if problem:
            errors.append(_("Line %(line)d: %(problem)s.") % {"line": line, "problem": problem})
            continue
        seen[word] = line
        is_active = None if not active_text else active_text in TRUE
        rows.append(Row(line=line, word=word, category=category, mode=mode, is_active=is_active))
    return rows, errors


def import_rows(*, rows: list[Row], staff: AbstractBaseUser, filename: str = "") -> Imported:
    """Add the new words and update the known ones (matched by their exact text), in one
    transaction with one audit entry. Importing the same file again changes nothing."""
    result = Imported()
    with transaction.atomic():
        existing = {
            word.word: word
            for word in SensitiveWord.objects.select_for_update().filter(word__in=[r.word for r in rows])
        }
        new = []
        for row in rows:
            known = existing.get(row.word)
            if known is None:
                active = True if row.is_active is None else row.is_active
                new.append(SensitiveWord(word=row.word, category_id=row.category, mode=row.mode, is_active=active))
                result.added.append(row.word)
                continue
            active = known.is_active if row.is_active is None else row.is_active
            if (known.category_id, known.mode, known.is_active) == (row.category, row.mode, active):
                result.unchanged += 1
                continue
            known.category_id, known.mode, known.is_active = row.category, row.mode, active
            known.save(update_fields=["category", "mode", "is_active", "changed_at"])
            result.updated.append(row.word)
        SensitiveWord.objects.bulk_create(new, batch_size=500)
        audit.record(
            staff,
            audit.Action.SENSITIVE_WORDS_IMPORTED,
            file=filename,
            added=result.added,
            updated=result.updated,
            unchanged=result.unchanged,
        )
    return result
