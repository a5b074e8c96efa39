"""Shipping labels: one PDF page per order, with the order code as a QR, for packing tables.

Pages are A6 (105 x 148 mm), the size thermal label printers and a quartered A4 take.
The QR is segno's 1-bit PNG of the order code, placed at 34 mm (about 1 mm per module,
which phone cameras and courier scanners read easily). Text uses an embedded Unicode
font passed in by the caller (the server ships DejaVu Sans), so Vietnamese names and
addresses print with their marks.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import segno
from fpdf import FPDF

from shop.money import format_vnd, format_weight

PAGE_MM = (105.0, 148.0)
QR_MM = 34.0


@dataclass(frozen=True, slots=True)
class Label:
    order_code: str
    carrier: str
    tracking: str | None
    to_name: str
    to_phone: str  # full: the courier must call the buyer
    address: str
    cod_amount: int  # đồng to collect; 0 = prepaid
    weight_grams: int
    content: str
    sender: str  # the cooperative


def _qr(pdf: FPDF, text: str, x: float, y: float, size: float) -> None:
    # A 1-bit PNG (a few hundred bytes): printers and PDF readers all take it as it is.
    png = io.BytesIO()
    segno.make(text, error="m", micro=False).save(png, kind="png", scale=8, border=4)
    png.seek(0)
    pdf.image(png, x=x, y=y, w=size, h=size)


def _page(pdf: FPDF, label: Label) -> None:
    pdf.add_page()
    width = PAGE_MM[0] - 12
    pdf.set_font("body", "B", 13)
    pdf.cell(width - QR_MM, 7, label.carrier.upper(), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", "", 10)
    pdf.cell(
        width - QR_MM, 6, f"Mã vận đơn: {label.tracking or '—'}", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("body", "B", 16)
    pdf.cell(width - QR_MM, 9, f"Đơn {label.order_code}", new_x="LMARGIN", new_y="NEXT")
    _qr(pdf, label.order_code, PAGE_MM[0] - 6 - QR_MM, 4, QR_MM)
    pdf.set_y(42)
    pdf.set_font("body", "", 9)
    pdf.cell(width, 5, "Người nhận / To:", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", "B", 12)
    pdf.multi_cell(width, 6, f"{label.to_name}   {label.to_phone}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("body", "", 11)
    pdf.multi_cell(width, 5.5, label.address, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("body", "", 10)
    pdf.multi_cell(width, 5, f"Hàng: {label.content}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(
        width, 6, f"Khối lượng: {format_weight(label.weight_grams)}", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.ln(2)
    pdf.set_font("body", "B", 15)
    cod = f"Thu hộ (COD): {format_vnd(label.cod_amount)}" if label.cod_amount else "Đã thanh toán"
    pdf.cell(width, 9, cod, border=1, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("body", "", 9)
    pdf.multi_cell(width, 4.5, f"Người gửi: {label.sender}", new_x="LMARGIN", new_y="NEXT")


def render_labels(labels: Sequence[Label], font_dir: Path) -> bytes:
    """The labels as one PDF, a page each, in the order given."""
    pdf = FPDF(unit="mm", format=PAGE_MM)
    pdf.set_margins(6, 6, 6)
    pdf.set_auto_page_break(auto=True, margin=6)
    pdf.add_font("body", "", str(font_dir / "DejaVuSans.ttf"))
    pdf.add_font("body", "B", str(font_dir / "DejaVuSans-Bold.ttf"))
    pdf.set_title("Nhãn giao hàng")
    pdf.set_creator("farmlive")
    for label in labels:
        _page(pdf, label)
    return bytes(pdf.output())
