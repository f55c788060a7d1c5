"""The zh catalogue is complete and its placeholders match the English msgids."""
from __future__ import annotations

import re
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


def test_every_case_file_action_has_a_label() -> None:
    """Each action the engine writes into a case file (history.record) is named in words on the timeline."""
    root = PO.parents[4]
    recorded = set()
    for source in (root / "engine").glob("*.py"):
        recorded |= set(re.findall(r'history\.record\(\s*session,\s*[\w.]+,\s*"(\w+)"', source.read_text(encoding="utf-8")))
    macros = (root / "web" / "templates" / "_macros.html").read_text(encoding="utf-8")
    labels = macros.split("macro event_label", 1)[1].split("endmacro", 1)[0]
    assert len(recorded) > 30
    assert sorted(a for a in recorded if f"'{a}':" not in labels) == []


def test_the_catalogue_holds_every_message_of_the_code_and_templates() -> None:
    """What `pybabel extract -F babel.cfg -k lazy_gettext` finds must be in the catalogue (and so translated):
    a string marked in code but never extracted shows in English on a Chinese page."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

    root = PO.parents[4]
    method_map = [("web/**.py", "python"), ("web/templates/**.html", "jinja2")]
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None}
    found = {message if isinstance(message, str) else message[0]
             for _file, _line, message, _comments, _context in extract_from_dir(str(root), method_map, keywords=keywords)}
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    assert sorted(found - known) == []
