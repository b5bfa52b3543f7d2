"""Draw LayerLab's icon and the sample images (run: python assets/make_assets.py).

Everything is generated from code so the assets can be re-made and carry no licence questions.
- layerlab.png (256 px) and layerlab.svg: three stacked layers and a falling loss curve.
- samples/digit_N.png: digits written in dark ink on light paper, like a photo of a handwritten
  digit (the opposite polarity of the digits dataset, which the app's preprocessing handles).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).resolve().parent
ACCENT = (79, 140, 255)
ORANGE = (255, 159, 67)
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

SVG = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 256 256">
  <defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1">
    <stop offset="0" stop-color="#263049"/><stop offset="1" stop-color="#141821"/></linearGradient></defs>
  <rect x="8" y="8" width="240" height="240" rx="52" fill="url(#bg)"/>
  <g stroke="#17191e" stroke-width="4">
    <polygon points="128,150 214,176 128,202 42,176" fill="#2f5fb8"/>
    <polygon points="128,118 214,144 128,170 42,144" fill="#3f77e0"/>
    <polygon points="128,86 214,112 128,138 42,112" fill="#4f8cff"/>
  </g>
  <polyline points="52,46 92,70 132,60 172,80 206,74" fill="none" stroke="#ff9f43" stroke-width="10"
            stroke-linecap="round" stroke-linejoin="round"/>
</svg>
"""


def icon(size: int = 256) -> Image.Image:
    """The SVG above, drawn with Pillow at 4× and downsampled for smooth edges."""
    s = 4 * size / 256
    big = Image.new("RGBA", (4 * size, 4 * size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(big)
    top, bottom = (38, 48, 73), (20, 24, 33)
    mask = Image.new("L", big.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle([8 * s, 8 * s, 248 * s, 248 * s], radius=52 * s, fill=255)
    gradient = Image.new("RGBA", big.size)
    gdraw = ImageDraw.Draw(gradient)
    for y in range(big.size[1]):
        t = y / big.size[1]
        gdraw.line([(0, y), (big.size[0], y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom)) + (255,))
    big.paste(gradient, (0, 0), mask)
    for dy, color in ((64, (47, 95, 184)), (32, (63, 119, 224)), (0, ACCENT)):
        pts = [(128, 86 + dy), (214, 112 + dy), (128, 138 + dy), (42, 112 + dy)]
        draw.polygon([(x * s, y * s) for x, y in pts], fill=color + (255,), outline=(23, 25, 30, 255), width=int(4 * s))
    curve = [(52, 46), (92, 70), (132, 60), (172, 80), (206, 74)]
    draw.line([(x * s, y * s) for x, y in curve], fill=ORANGE + (255,), width=int(10 * s), joint="curve")
    for x, y in (curve[0], curve[-1]):
        r = 5 * s
        draw.ellipse([x * s - r, y * s - r, x * s + r, y * s + r], fill=ORANGE + (255,))
    return big.resize((size, size), Image.Resampling.LANCZOS)


def digit(text: str, size: int = 220, angle: float = -6.0) -> Image.Image:
    """Dark ink on slightly uneven paper, a little rotated and blurred like a phone photo."""
    paper = Image.new("L", (size, size), 236)
    draw = ImageDraw.Draw(paper)
    for i in range(0, size, 7):  # faint paper texture
        draw.line([(0, i), (size, i + 3)], fill=230)
    ink = Image.new("L", (size, size), 0)
    font = ImageFont.truetype(FONT, int(size * 0.72))
    ImageDraw.Draw(ink).text((size / 2, size / 2), text, font=font, fill=255, anchor="mm")
    ink = ink.rotate(angle, resample=Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(1.2))
    paper.paste(40, (0, 0), ink)
    return paper.convert("RGB")


def main() -> None:
    HERE.mkdir(exist_ok=True)
    (HERE / "layerlab.svg").write_text(SVG, encoding="utf-8")
    icon(256).save(HERE / "layerlab.png")
    samples = HERE / "samples"
    samples.mkdir(exist_ok=True)
    for text, angle in (("3", -4.0), ("7", 5.0), ("4", -8.0)):
        digit(text, angle=angle).save(samples / f"digit_{text}.png")


if __name__ == "__main__":
    main()
