"""E-commerce compliance: who streamed each sale, the published livestream rules, complaints.

Vietnamese e-commerce rules ask a livestream seller to identify the person selling on
screen, to publish the rules of the livestream, and to receive and answer buyers'
complaints. This module holds the pure shapes; `shop.adapters.sql.compliance` stores them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class ComplaintStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class StreamerRecord:
    """The identity of the person selling in one live session (kept for the authorities)."""

    session_id: int
    full_name: str
    id_number: str  # citizen ID (CCCD) or passport number; shown to staff only
    organisation: str | None
    phone: str | None
    recorded_at: datetime
    recorded_by: int | None
    position: str | None = None  # e.g. "Phó Chủ tịch UBND tỉnh", shown with the name


@dataclass(frozen=True, slots=True)
class Complaint:
    id: int
    session_id: int | None
    order_id: str | None
    name: str
    phone: str
    text: str
    status: ComplaintStatus
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: int | None = None
    resolution: str | None = None


def mask_id_number(id_number: str) -> str:
    """All but the last 3 characters hidden: enough to recognise, too little to misuse."""
    keep = id_number[-3:] if len(id_number) > 6 else ""
    return "•" * (len(id_number) - len(keep)) + keep


RULES_VERSION = "2026-12"
# The published rules of every farmlive livestream (served at GET /api/livestream-rules).
LIVESTREAM_RULES: dict[str, tuple[str, ...]] = {
    "vi": (
        "Người bán trên phiên live được ghi nhận danh tính (họ tên, số định danh) và tổ chức"
        " bán hàng; tên và tổ chức được công khai trên trang phiên.",
        "Thông tin sản phẩm (tên, hạng, xuất xứ, khối lượng, giá bằng đồng) hiển thị đúng như"
        " đơn hàng; không quảng cáo sai sự thật.",
        "Mỗi đơn hàng có mã riêng; người mua theo dõi đơn bằng đường dẫn được cấp khi đặt.",
        "Đơn chuyển khoản hoặc thẻ chưa thanh toán sẽ hết hạn và trả lại hàng cho phiên.",
        "Để hàng đến được nhiều người mua, mỗi địa chỉ mạng và mỗi thiết bị chỉ được đặt một"
        " lượng hàng chưa thanh toán có giới hạn trong một khoảng thời gian (kể cả đơn thanh"
        " toán khi nhận hàng); đơn đầu tiên luôn được nhận. Khi lô hàng sắp hết, thời gian"
        " giữ hàng cho đơn chưa thanh toán ngắn hơn.",
        "Hàng tươi đã xác nhận mà bị huỷ hoặc bị từ chối khi giao sẽ được huỷ bỏ, không bán lại.",
        "Bình luận xúc phạm, lừa đảo hoặc quấy rối bị xoá; người vi phạm có thể bị tắt tiếng"
        " hoặc chặn.",
        "Khiếu nại về đơn hàng hoặc phiên live gửi qua mẫu khiếu nại; bộ phận hỗ trợ trả lời"
        " qua số điện thoại người gửi để lại.",
    ),
    "en": (
        "The person selling on a live session is identified (full name, ID number) with the"
        " selling organisation; name and organisation are shown on the session page.",
        "Product details (name, grade, origin, weight, price in đồng) are shown as they are"
        " ordered; no misleading advertising.",
        "Every order has its own code; buyers follow it with the link given when ordering.",
        "Unpaid transfer or card orders expire and their stock returns to the sale.",
        "So that the goods reach many buyers, each network address and each device may order"
        " a limited quantity of unpaid goods within a period (cash on delivery included);"
        " a first order is always accepted. When a lot is nearly sold out, unpaid orders"
        " hold their goods for a shorter time.",
        "Fresh produce that was confirmed and then cancelled or refused at the door is"
        " written off, never sold again.",
        "Abusive, fraudulent or harassing comments are removed; their authors may be muted or"
        " banned.",
        "Complaints about an order or a live session go through the complaint form; support"
        " answers on the phone number given.",
    ),
}
