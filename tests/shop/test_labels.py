"""Shipping labels: one page per order, the order code as a readable QR, the COD amount."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from shop.labels import Label, render_labels

FONTS = Path(__file__).resolve().parents[2] / "server" / "fonts"


def label(code: str, cod: int) -> Label:
    return Label(
        order_code=code, carrier="ghn", tracking="GHN000001", to_name="Nguyễn Thị Hoa",
        to_phone="0912345678", address="Thôn Bãi Bông, Phường Chũ, Bắc Ninh", cod_amount=cod,
        weight_grams=10_500, content="Vải thiều 10 kg", sender="HTX Thử nghiệm",
    )  # fmt: skip


def test_one_page_per_order_with_qr_and_cod() -> None:
    """Three labels are three pages; the text carries the code, COD in đồng and the weight."""
    pypdf = pytest.importorskip("pypdf")
    pdf = render_labels(
        [label("K7M2Q9XA", 500_000), label("P3R8T2WB", 0), label("Z9Y8X7WV", 1)], FONTS
    )
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 3
    first = reader.pages[0].extract_text()
    assert "K7M2Q9XA" in first and "500.000" in first and "10,5 kg" in first
    assert "Nguyễn Thị Hoa" in first
    assert "Đã thanh toán" in reader.pages[1].extract_text()


def test_qr_decodes_to_the_order_code() -> None:
    """The QR image inside the PDF page decodes to the order code."""
    pypdf = pytest.importorskip("pypdf")
    zxingcpp = pytest.importorskip("zxingcpp")
    pdf = render_labels([label("K7M2Q9XA", 500_000)], FONTS)
    [image] = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].images
    codes = [r.text for r in zxingcpp.read_barcodes(image.image.convert("L"))]
    assert codes == ["K7M2Q9XA"]
