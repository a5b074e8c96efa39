"""The post-event report an official can file: one session's public figures as a PDF.

fpdf2 with DejaVu Sans shipped in server/fonts (no system font is assumed), so the
Vietnamese text keeps its diacritics. Public figures only, from the ledger's fold, with
the sealed head hash so a reader can check the ledger they download against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from shop.ledger import parse_ts
from shop.money import format_vnd, format_weight

FONTS = Path(__file__).resolve().parent / "fonts"
VN = ZoneInfo("Asia/Ho_Chi_Minh")
GREEN = (22, 120, 60)
GREY = (150, 150, 150)


@dataclass(frozen=True)
class ReportData:
    title: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    host: str | None  # "Name — position, organisation"
    cooperatives: list[str]
    totals: dict[str, int]
    by_lot: list[tuple[str, str, int, int]]  # product, cooperative, sold, confirmed grams
    by_province: list[tuple[str, int, int]]  # province, sold, confirmed grams
    timeline: list[dict[str, Any]]
    count: int
    head_hash: str
    sealed_at: datetime | None
    sealed_hash: str | None
    sealed_count: int | None
    ledger_url: str
    generated_at: datetime
    notes: list[str] = field(default_factory=list)


def _when(value: datetime | None) -> str:
    return "–" if value is None else value.astimezone(VN).strftime("%H:%M %d/%m/%Y")


class _Report(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        self.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(15, 15, 15)

    def line_text(self, text: str, size: float = 10, bold: bool = False, h: float = 6) -> None:
        self.set_font("DejaVu", "B" if bold else "", size)
        self.multi_cell(0, h, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def row(self, cells: list[str], widths: list[float], bold: bool = False) -> None:
        self.set_font("DejaVu", "B" if bold else "", 9)
        for i, (text, width) in enumerate(zip(cells, widths, strict=True)):
            self.cell(width, 6, text, border="B", align="L" if i == 0 else "R")
        self.ln(6)


def render_report(data: ReportData) -> bytes:
    pdf = _Report()
    pdf.set_title(f"Báo cáo phiên {data.title}")
    pdf.add_page()
    pdf.line_text("BÁO CÁO KẾT QUẢ PHIÊN BÁN HÀNG TRỰC TIẾP", 14, bold=True, h=8)
    pdf.line_text(data.title, 12, bold=True)
    pdf.line_text(f"Bắt đầu: {_when(data.started_at)}    Kết thúc: {_when(data.ended_at)}")
    pdf.line_text(f"Người bán trên sóng: {data.host or 'chưa ghi nhận'}")
    pdf.line_text("Hợp tác xã: " + (", ".join(data.cooperatives) or "–"))
    pdf.ln(2)
    _totals(pdf, data.totals)
    if data.by_lot:
        pdf.line_text("Theo hợp tác xã và lô hàng", 11, bold=True, h=8)
        widths = [80.0, 50.0, 25.0, 25.0]
        pdf.row(["Sản phẩm", "Hợp tác xã", "Đã đặt", "Đã xác nhận"], widths, bold=True)
        for product, coop, sold, confirmed in data.by_lot:
            pdf.row([product, coop, format_weight(sold), format_weight(confirmed)], widths)
        pdf.ln(2)
    if data.by_province:
        pdf.line_text("Theo tỉnh/thành của người mua", 11, bold=True, h=8)
        widths = [110.0, 35.0, 35.0]
        pdf.row(["Tỉnh/thành", "Đã đặt", "Đã xác nhận"], widths, bold=True)
        for province, sold, confirmed in data.by_province:
            pdf.row([province, format_weight(sold), format_weight(confirmed)], widths)
        pdf.ln(2)
    _chart(pdf, data.timeline)
    _seal(pdf, data)
    return bytes(pdf.output())


def _totals(pdf: _Report, totals: dict[str, int]) -> None:
    pdf.set_text_color(*GREEN)
    pdf.line_text(
        f"Sản lượng đã xác nhận: {format_weight(totals['confirmed_grams'])}", 16, bold=True, h=9
    )
    pdf.set_text_color(0, 0, 0)
    pdf.line_text(
        f"Tổng đã đặt (chưa huỷ): {format_weight(totals['sold_grams'])}, trong đó chưa xác "
        f"nhận: {format_weight(totals['unconfirmed_grams'])}"
    )
    pdf.line_text(
        f"Số đơn hàng: {totals['orders_count']}    Doanh thu: {format_vnd(totals['revenue'])}"
    )
    pdf.line_text(
        "Đã xác nhận: đơn trả khi nhận hàng đã gọi xác nhận, chuyển khoản đã nhận, thẻ đã "
        "thanh toán, hoặc đã giao.",
        8,
        h=4,
    )
    pdf.ln(3)


def _chart(pdf: _Report, points: list[dict[str, Any]]) -> None:
    """Kg over time: taken (grey) and confirmed (green), cumulative."""
    pdf.line_text("Sản lượng theo thời gian (kg)", 11, bold=True, h=8)
    if len(points) < 1:
        pdf.line_text("Chưa có đơn hàng.")
        return
    if pdf.get_y() > 200:
        pdf.add_page()
    x0, y0, w, h = 30.0, pdf.get_y() + 2, 160.0, 55.0
    times = [parse_ts(p["ts"]).timestamp() for p in points]
    t0, t1 = times[0], max(times[-1], times[0] + 60)
    top = max(max(p["sold_grams"] for p in points), 1)
    pdf.set_draw_color(0, 0, 0)
    pdf.line(x0, y0 + h, x0 + w, y0 + h)
    pdf.line(x0, y0, x0, y0 + h)
    pdf.set_font("DejaVu", "", 7)
    for frac in (0.0, 0.5, 1.0):
        pdf.set_xy(x0 - 22, y0 + h - frac * h - 2)
        pdf.cell(20, 4, f"{round(top * frac / 1000):,}".replace(",", "."), align="R")
    for key, colour in (("sold_grams", GREY), ("confirmed_grams", GREEN)):
        pdf.set_draw_color(*colour)
        pdf.set_line_width(0.6)
        prev: tuple[float, float] | None = None
        for t, p in zip(times, points, strict=True):
            xy = (x0 + w * (t - t0) / (t1 - t0), y0 + h - h * p[key] / top)
            if prev is not None:
                # Steps, not slopes: a total holds its value until the next entry.
                pdf.line(prev[0], prev[1], xy[0], prev[1])
                pdf.line(xy[0], prev[1], xy[0], xy[1])
            prev = xy
        if prev is not None:
            pdf.line(prev[0], prev[1], x0 + w, prev[1])
    pdf.set_line_width(0.2)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_xy(x0, y0 + h + 1)
    start = datetime.fromtimestamp(t0, VN).strftime("%H:%M %d/%m")
    end = datetime.fromtimestamp(t1, VN).strftime("%H:%M %d/%m")
    pdf.cell(w / 2, 4, start)
    pdf.cell(w / 2, 4, end, align="R")
    pdf.set_xy(pdf.l_margin, y0 + h + 6)
    pdf.line_text("Xám: tổng đã đặt · Xanh: đã xác nhận", 8, h=4)
    pdf.ln(2)


def _seal(pdf: _Report, data: ReportData) -> None:
    pdf.line_text("Sổ cái công khai (kiểm tra được)", 11, bold=True, h=8)
    if data.sealed_hash is not None:
        pdf.line_text(
            f"Mã niêm phong (hash đầu chuỗi) lúc {_when(data.sealed_at)}, "
            f"sau {data.sealed_count} bút toán:"
        )
        pdf.set_font("DejaVu", "", 8)
        pdf.multi_cell(0, 5, data.sealed_hash, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    else:
        pdf.line_text("Phiên chưa kết thúc: sổ cái chưa được niêm phong.")
    pdf.line_text(f"Hiện tại: {data.count} bút toán, hash đầu chuỗi:")
    pdf.set_font("DejaVu", "", 8)
    pdf.multi_cell(0, 5, data.head_hash, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.line_text(
        f"Tải sổ cái: {data.ledger_url} . Mỗi bút toán: hash = sha256(prev_hash + xuống dòng + "
        "JSON chuẩn); cộng lại các bút toán sẽ ra đúng các con số trên. Không có thông tin cá "
        "nhân người mua.",
        8,
        h=4,
    )
    for note in data.notes:
        pdf.line_text(note, 8, h=4)
    pdf.line_text(f"Lập lúc {_when(data.generated_at)} bởi farmlive.", 8, h=4)
