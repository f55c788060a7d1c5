from __future__ import annotations

from engine.privacy import mask_id_number, mask_name, mask_phone


def test_masking() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_name("李") == "*"
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("12345") == "*****"
    assert mask_phone(None) is None
    assert mask_id_number("110101199003071234") == "1101**********1234"
    assert mask_id_number("1234567") == "*******"
