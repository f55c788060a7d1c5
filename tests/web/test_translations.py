"""The zh catalogue is complete and its placeholders match the English msgids."""
from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

PO = Path(__file__).resolve().parents[2] / "web" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"


def test_every_message_is_translated_with_matching_placeholders() -> None:
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    problems = [(message.id, [str(e) for e in errors]) for message, errors in catalog.check()]
    assert problems == []
    missing = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert missing == []
