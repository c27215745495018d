"""Draw PetriLab's icon (a petri dish with colonies) into resources/icons/.

    python resources/make_icons.py

Writes petrilab.png (256 px, the window and Linux icon), petrilab.ico
(Windows: executable, installer, start menu) and petrilab.icns (macOS).
Drawn from a fixed recipe, so running it again gives the same files.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
SIZE = 1024  # drawn large, then scaled down smoothly

# (x, y, radius, colour) of the colonies, in units of the dish radius from its centre
COLONIES = [
    (-0.38, -0.30, 0.16, (224, 106, 74)),
    (0.28, -0.40, 0.11, (245, 182, 66)),
    (0.40, 0.10, 0.18, (72, 161, 118)),
    (-0.10, 0.36, 0.13, (88, 130, 210)),
    (-0.45, 0.22, 0.08, (245, 182, 66)),
    (0.05, -0.05, 0.09, (224, 106, 74)),
    (0.12, 0.55, 0.06, (72, 161, 118)),
]


def draw(size: int = SIZE) -> Image.Image:
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(image)
    c = size / 2
    rim = size * 0.46
    d.ellipse([c - rim, c - rim, c + rim, c + rim], fill=(38, 70, 110, 255))  # the dish's rim
    agar = rim * 0.88
    d.ellipse([c - agar, c - agar, c + agar, c + agar], fill=(246, 236, 205, 255))  # the agar
    for x, y, r, colour in COLONIES:
        cx, cy, radius = c + x * agar, c + y * agar, r * agar
        d.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=(*colour, 255))
        hi = radius * 0.35  # a highlight, so colonies look raised
        d.ellipse([cx - radius * 0.55, cy - radius * 0.6, cx - radius * 0.55 + hi, cy - radius * 0.6 + hi],
                  fill=(255, 255, 255, 110))
    return image.filter(ImageFilter.SMOOTH)


def main() -> None:
    out = HERE / "icons"
    out.mkdir(exist_ok=True)
    big = draw()
    big.resize((256, 256), Image.LANCZOS).save(out / "petrilab.png", optimize=True)
    big.save(out / "petrilab.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])
    big.resize((512, 512), Image.LANCZOS).save(out / "petrilab.icns")
    for path in sorted(out.iterdir()):
        print(f"{path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
