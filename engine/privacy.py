"""Masking personal data (names, phone numbers, ID numbers) for lists, logs and public pages.

Whole values are shown only where a role needs them (the window contacts the applicant); everyone
else, and every page without a login, gets these masked forms.
"""
from __future__ import annotations


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧**娜: the first (and for three or more characters the last) kept."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str | None) -> str | None:
    """13800138000 → 138****8000."""
    if not phone:
        return None
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_id_number(id_number: str | None) -> str | None:
    """An ID or credit code keeps its first and last four characters: 1101**********1234."""
    if not id_number:
        return None
    if len(id_number) < 10:
        return "*" * len(id_number)
    return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]
