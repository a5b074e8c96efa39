"""Regenerate shop/data/divisions_2025.json from the pinned `vietnam-provinces` release.

Run under Python >= 3.12 (the release needs it) in a throwaway venv:

    python3.12 -m venv /tmp/vp && /tmp/vp/bin/pip install 'vietnam-provinces==2026.9.0'
    /tmp/vp/bin/python .ci/build_address_data.py

The app reads only the JSON file, so every Python version (3.11 included) sees the same
names, codes and old-to-new table. Nothing here runs at serve time.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

from vietnam_provinces import Province, Ward  # type: ignore[attr-defined]
from vietnam_provinces import _province_conversion_2025 as province_table  # type: ignore
from vietnam_provinces import _ward_conversion_2025 as ward_table  # type: ignore
from vietnam_provinces.legacy import District as OldDistrict  # type: ignore
from vietnam_provinces.legacy import Province as OldProvince  # type: ignore
from vietnam_provinces.legacy import Ward as OldWard  # type: ignore

PINNED = "2026.9.0"
OUT = Path(__file__).resolve().parent.parent / "shop" / "data" / "divisions_2025.json"


def _name(text: str) -> str:
    # The source CSV has a few lower-case prefixes ("xã Bắc Sơn").
    return text[:1].upper() + text[1:]


def build() -> dict[str, object]:
    """The four lists and the official old-to-new table, as plain ints and strings."""
    old_to_new = ward_table.OLD_TO_NEW
    return {
        "source": {
            "package": "vietnam-provinces",
            "version": version("vietnam-provinces"),
            "licence": "GPL-3.0-or-later",
            "table": ward_table.SOURCE,
            "effective": ward_table.EFFECTIVE_DATE,
        },
        "provinces": [[p.code.value, _name(p.name), p.codename] for p in Province.iter_all()],
        "wards": [[w.code.value, _name(w.name), w.province_code.value] for w in Ward.iter_all()],
        "old_provinces": [
            [
                p.code.value,
                _name(p.name),
                [n.code for n in province_table.OLD_TO_NEW[p.code.value].new_provinces],
            ]
            for p in OldProvince.iter_all()
        ],
        "old_districts": [
            [d.code.value, _name(d.name), d.province_code.value] for d in OldDistrict.iter_all()
        ],
        # Successors in the table's order; [] for the few old wards the table leaves out.
        "old_wards": [
            [
                w.code.value,
                _name(w.name),
                w.district_code.value,
                [n.code for n in old_to_new[w.code.value].new_wards]
                if w.code.value in old_to_new
                else [],
            ]
            for w in OldWard.iter_all()
        ],
    }


def main() -> int:
    if version("vietnam-provinces") != PINNED:
        print(f"expected vietnam-provinces=={PINNED}", file=sys.stderr)
        return 1
    data = build()
    # One record a line: reviewable diffs when the table is upgraded.
    lines = ["{"]
    items = list(data.items())
    for i, (key, value) in enumerate(items):
        tail = "," if i < len(items) - 1 else ""
        if isinstance(value, list):
            rows = [json.dumps(row, ensure_ascii=False, separators=(",", ":")) for row in value]
            lines.append(f'"{key}":[\n' + ",\n".join(rows) + f"\n]{tail}")
        else:
            lines.append(f'"{key}":' + json.dumps(value, ensure_ascii=False) + tail)
    lines.append("}")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
