"""The cooperative's packing list as CSV, for spreadsheets: Vietnamese headers and statuses.

Spreadsheets run a cell that starts with = + - @ (or a tab/CR before one) as a formula,
so every free-text cell (anything a buyer, a host or a cooperative typed: names,
addresses, the session title, offer and product names) gets a leading apostrophe when it
starts with one. Phones are written as ="0912345678" so Excel and LibreOffice keep the
leading 0; that one formula is ours, built only from a validated 10-digit phone.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from shop.order_reports import StaffOrder
from shop.orders import Order

VN = ZoneInfo("Asia/Ho_Chi_Minh")

# (header, kind): "text" cells are formula-escaped, "phone" cells kept as text.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("Mã đơn", "text"),
    ("Thời gian đặt", "fixed"),
    ("Phiên live", "text"),
    ("Mã sản phẩm", "text"),
    ("Sản phẩm", "text"),
    ("Số lượng", "fixed"),
    ("Khối lượng (kg)", "fixed"),
    ("Thành tiền (₫)", "fixed"),
    ("Trạng thái", "fixed"),
    ("Thanh toán", "fixed"),
    ("Người nhận", "text"),
    ("Số điện thoại", "phone"),
    ("Tỉnh/Thành phố", "text"),
    ("Phường/Xã", "text"),
    ("Địa chỉ", "text"),
    ("Mã tra cứu", "text"),
    # How the address resolved (shop/address.py): the official ward code, and what the
    # buyer typed when it differs from the resolved ward.
    ("Mã phường/xã", "text"),
    ("Khớp địa chỉ", "fixed"),
    ("Khách ghi", "text"),
)

STATUS_VI = {
    "pending_payment": "Chờ thanh toán",
    "placed": "Chờ xác nhận",
    "confirmed": "Đã xác nhận",
    "paid": "Đã thanh toán",
    "cancelled": "Đã huỷ",
    "expired": "Hết hạn giữ hàng",
    "refunded": "Đã hoàn tiền",
    "shipped": "Đang giao",
    "delivered": "Đã giao",
    "returned": "Bị trả lại",
}
MATCH_VI = {
    "exact": "Đúng danh mục",
    "converted": "Đã chuyển từ địa chỉ cũ",
    "unrecognised": "Chưa xác định",
}
PAYMENT_VI = {
    "cod": "Tiền mặt khi nhận hàng",
    "bank_transfer": "Chuyển khoản",
    "stripe": "Thẻ",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "％", "＝", "＋", "－", "＠")
_PHONE = re.compile(r"^\d{9,11}$")


def escape_cell(value: object) -> str:
    """A free-text cell that no spreadsheet will run as a formula."""
    text = "" if value is None else str(value)
    stripped = text.lstrip(" \u00a0")
    if stripped[:1] in _FORMULA_START or text[:1] in _FORMULA_START:
        return "'" + text
    return text


def phone_cell(phone: str) -> str:
    if not _PHONE.match(phone):  # never happens for a stored phone; never a formula
        return escape_cell(phone)
    return f'="{phone}"'


def kilograms(grams: int) -> str:
    kg = grams / 1000
    return f"{kg:.3f}".rstrip("0").rstrip(".").replace(".", ",")


def _match(order: Order) -> str:
    # Orders placed before addresses recorded their match: a ward code was an exact match.
    return order.address_match or ("exact" if order.ward_code else "unrecognised")


def packing_csv(rows: Iterable[StaffOrder]) -> str:
    """One line per order, oldest first as the reports port gives them."""
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 Vietnamese correctly only with a BOM
    writer = csv.writer(out)
    writer.writerow([name for name, _ in COLUMNS])
    for row in rows:
        order = row.order
        cells: list[object] = [
            order.code,
            order.created_at.astimezone(VN).strftime("%d/%m/%Y %H:%M"),
            row.session_title,
            row.offer_code,
            row.product,
            order.quantity,
            kilograms(order.grams),
            order.total,
            STATUS_VI.get(order.status.value, order.status.value),
            PAYMENT_VI.get(order.payment_method, order.payment_method),
            order.buyer_name,
            order.buyer_phone,
            order.province_name,
            order.ward_name,
            order.street,
            order.id,
            order.ward_code or "",
            MATCH_VI[_match(order)],
            order.address_typed or "",
        ]
        writer.writerow(
            [
                escape_cell(v) if kind == "text" else phone_cell(str(v)) if kind == "phone" else v
                for v, (_, kind) in zip(cells, COLUMNS, strict=True)
            ]
        )
    return out.getvalue()
