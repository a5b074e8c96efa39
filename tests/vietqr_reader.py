"""Read VietQR back as a banking app would: decode the PNG (zxing-cpp), parse the TLV fields."""

from __future__ import annotations

import binascii
import struct
import zlib


def parse_tlv(text: str) -> dict[str, str]:
    """EMV tag-length-value fields, in order; fails on a truncated or repeated field."""
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        tag, length = text[pos : pos + 2], int(text[pos + 2 : pos + 4])
        value = text[pos + 4 : pos + 4 + length]
        assert len(value) == length and tag not in fields, (tag, length, value)
        fields[tag] = value
        pos += 4 + length
    return fields


def crc_ok(payload: str) -> bool:
    """The last field is 63 with the CRC-16/CCITT-FALSE of everything up to and including "6304"."""
    body, crc = payload[:-4], payload[-4:]
    # binascii.crc_hqx is CRC-CCITT (poly 0x1021); initial 0xFFFF makes it CCITT-FALSE.
    return body.endswith("6304") and crc == f"{binascii.crc_hqx(body.encode(), 0xFFFF):04X}"


def transfer(payload: str) -> dict[str, str]:
    """The bank, account, amount and note a banking app reads from a VietQR payload."""
    top = parse_tlv(payload)
    merchant = parse_tlv(top["38"])
    beneficiary = parse_tlv(merchant["01"])
    return {
        "format": top["00"],
        "initiation": top["01"],
        "guid": merchant["00"],
        "service": merchant["02"],
        "bin": beneficiary["00"],
        "account": beneficiary["01"],
        "currency": top["53"],
        "amount": top["54"],
        "country": top["58"],
        "purpose": parse_tlv(top["62"])["08"],
        "crc": top["63"],
    }


def png_pixels(png: bytes) -> tuple[int, int, bytes]:
    """(width, height, 8-bit grey pixels) of a non-interlaced greyscale or palette PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, palette = 8, b"", None
    width = height = depth = color = 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        assert (
            zlib.crc32(kind + data)
            == struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])[0]
        )
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", data)
            assert color in (0, 3) and depth in (1, 2, 4, 8) and interlace == 0, (color, depth)
        elif kind == b"PLTE":
            palette = [sum(data[i : i + 3]) // 3 for i in range(0, len(data), 3)]
        elif kind == b"IDAT":
            idat += data
    raw = zlib.decompress(idat)
    stride = (width * depth + 7) // 8
    rows: list[bytearray] = []
    prev = bytearray(stride)
    bpp = max(1, depth // 8)
    for y in range(height):
        filter_type, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if filter_type == 1:
                line[i] = (line[i] + a) & 0xFF
            elif filter_type == 2:
                line[i] = (line[i] + b) & 0xFF
            elif filter_type == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif filter_type == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(line)
        prev = line
    out = bytearray()
    top = (1 << depth) - 1
    for line in rows:
        for x in range(width):
            bit = x * depth
            value = (line[bit // 8] >> (8 - depth - bit % 8)) & top
            out.append(palette[value] if palette is not None else value * 255 // top)
    return width, height, bytes(out)


def decode_qr(png: bytes) -> list[str]:
    """The texts of every QR code zxing-cpp finds in the image."""
    import zxingcpp

    width, height, pixels = png_pixels(png)
    image = memoryview(pixels).cast("B", (height, width))
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format.name == "QRCode"]
