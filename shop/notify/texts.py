"""What each buyer message says, in Vietnamese (SMS without diacritics, as gateways send
plain GSM text cheapest and every phone shows it)."""

from __future__ import annotations

import unicodedata

from shop.notify.port import Message, MessageEvent

_TEXTS: dict[MessageEvent, str] = {
    MessageEvent.RECEIVED: "farmlive: Đã nhận đơn {order_code} ({total}). Cảm ơn bạn!",
    MessageEvent.CONFIRMED: "farmlive: Đơn {order_code} đã được xác nhận, sắp gửi hàng.",
    MessageEvent.SHIPPED: (
        "farmlive: Đơn {order_code} đã gửi qua {carrier}, mã {tracking}. {tracking_url}"
    ),
    MessageEvent.DELIVERED: "farmlive: Đơn {order_code} đã giao thành công. Cảm ơn bạn!",
    MessageEvent.CODE: (
        "farmlive: Mã xác nhận của bạn là {code}, dùng trong 10 phút. Không chia sẻ mã này."
    ),
}


class _Missing(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def message_text(message: Message) -> str:
    """The message in Vietnamese; absent parameters read as empty."""
    text = _TEXTS[message.event].format_map(_Missing(message.params))
    return " ".join(text.split())


def plain_ascii(text: str) -> str:
    """Vietnamese without its marks, case kept: "Đơn đã giao" -> "Don da giao"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch) and ord(ch) < 128)
