"""Draw the integration's neutral brand icon (a sun over a solar panel).

The picture is our own and carries no vendor trademark. Run it again after a
change to the drawing:  python scripts/lib/make_brand.py
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

BRAND_DIR = (
    Path(__file__).resolve().parents[2] / "custom_components" / "enphase_enlighten" / "brand"
)

SCALE = 4  # draw large, then shrink for smooth edges
SKY = (255, 255, 255, 0)
SUN = (255, 183, 3, 255)
PANEL = (23, 74, 126, 255)
PANEL_LINE = (120, 178, 230, 255)
FRAME = (14, 44, 77, 255)


def draw_icon(size: int) -> Image.Image:
    """Return a square RGBA icon of the given size."""
    big = size * SCALE
    img = Image.new("RGBA", (big, big), SKY)
    draw = ImageDraw.Draw(img)
    unit = big / 256

    # Sun with rays, top right.
    cx, cy, r = 176 * unit, 72 * unit, 34 * unit
    for i in range(8):
        angle = math.pi / 4 * i
        inner, outer = r + 10 * unit, r + 30 * unit
        width = round(9 * unit)
        draw.line(
            (
                cx + inner * math.cos(angle),
                cy + inner * math.sin(angle),
                cx + outer * math.cos(angle),
                cy + outer * math.sin(angle),
            ),
            fill=SUN,
            width=width,
        )
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=SUN)

    # Tilted solar panel: a parallelogram split into cells, bottom left.
    top_left = (58 * unit, 120 * unit)
    top_right = (170 * unit, 120 * unit)
    bottom_right = (212 * unit, 224 * unit)
    bottom_left = (20 * unit, 224 * unit)
    draw.polygon([top_left, top_right, bottom_right, bottom_left], fill=PANEL, outline=FRAME)

    def point(u: float, v: float) -> tuple[float, float]:
        left = (
            top_left[0] + (bottom_left[0] - top_left[0]) * v,
            top_left[1] + (bottom_left[1] - top_left[1]) * v,
        )
        right = (
            top_right[0] + (bottom_right[0] - top_right[0]) * v,
            top_right[1] + (bottom_right[1] - top_right[1]) * v,
        )
        return (left[0] + (right[0] - left[0]) * u, left[1] + (right[1] - left[1]) * u)

    line_width = round(5 * unit)
    for i in range(1, 4):
        draw.line((point(i / 4, 0), point(i / 4, 1)), fill=PANEL_LINE, width=line_width)
    for j in range(1, 3):
        draw.line((point(0, j / 3), point(1, j / 3)), fill=PANEL_LINE, width=line_width)
    draw.line(
        [top_left, top_right, bottom_right, bottom_left, top_left],
        fill=FRAME,
        width=round(8 * unit),
        joint="curve",
    )
    return img.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    """Write icon.png (256 px) and icon@2x.png (512 px)."""
    BRAND_DIR.mkdir(parents=True, exist_ok=True)
    draw_icon(256).save(BRAND_DIR / "icon.png", optimize=True)
    draw_icon(512).save(BRAND_DIR / "icon@2x.png", optimize=True)


if __name__ == "__main__":
    main()
