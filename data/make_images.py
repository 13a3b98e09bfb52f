"""Draw the 24 demo images of `image-validation.jsonl` into `data/images/` (256×256 PNGs).

Simple scenes from shapes and text, drawn with Pillow. Some match their prompt, some only
partly (wrong colour or count), some not at all, and a few carry deliberate "artifacts"
(garbled text, noise or blur patches, an extra finger, a distorted shape).
Deterministic: a fixed seed, so running it again gives the same pictures.

    .venv/bin/python data/make_images.py
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

SIZE = 256
SEED = 20240611
OUT = Path(__file__).resolve().parent / "images"

SKY = (135, 196, 235)
NIGHT = (18, 24, 60)
GRASS = (76, 160, 70)
WHITE = (250, 250, 250)
BLACK = (20, 20, 20)


def font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def canvas(color=WHITE) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (SIZE, SIZE), color)
    return image, ImageDraw.Draw(image)


def star(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, fill) -> None:
    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.45
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    draw.polygon(points, fill=fill)


def centered_text(draw, box, text, size, fill) -> None:
    left, top, right, bottom = box
    f = font(size)
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=f)
    x = left + (right - left - (x1 - x0)) / 2 - x0
    y = top + (bottom - top - (y1 - y0)) / 2 - y0
    draw.text((x, y), text, font=f, fill=fill)


def sign(text: str, board=(250, 244, 220), ink=(40, 40, 40), size=44, bg=SKY) -> Image.Image:
    image, draw = canvas(bg)
    draw.rectangle((0, 200, SIZE, SIZE), fill=GRASS)
    draw.rectangle((120, 150, 136, 230), fill=(110, 80, 50))  # post
    draw.rounded_rectangle((28, 70, 228, 160), radius=10, fill=board, outline=ink, width=4)
    centered_text(draw, (28, 70, 228, 160), text, size, ink)
    return image


def noise_patch(image: Image.Image, rng: random.Random, box) -> None:
    left, top, right, bottom = box
    pixels = image.load()
    for x in range(left, right):
        for y in range(top, bottom):
            v = rng.randrange(256)
            pixels[x, y] = (v, (v * 7 + rng.randrange(64)) % 256, rng.randrange(256))


def blur_patch(image: Image.Image, box, radius: float = 6) -> None:
    image.paste(image.crop(box).filter(ImageFilter.GaussianBlur(radius)), box[:2])


def house(draw, x, y, w=80, h=60, wall=(230, 200, 150), roof=(170, 50, 40)) -> None:
    draw.rectangle((x, y, x + w, y + h), fill=wall, outline=BLACK, width=2)
    draw.polygon([(x - 8, y), (x + w / 2, y - 40), (x + w + 8, y)], fill=roof, outline=BLACK)
    draw.rectangle((x + w / 2 - 10, y + h - 30, x + w / 2 + 10, y + h), fill=(120, 80, 50))
    draw.rectangle((x + 8, y + 12, x + 26, y + 28), fill=(190, 225, 250), outline=BLACK)


# ---------------------------------------------------------------------------- the 24 scenes


def img_001(rng):  # a red circle above a blue square: matches
    image, draw = canvas()
    draw.ellipse((88, 20, 168, 100), fill=(220, 30, 40))
    draw.rectangle((83, 130, 173, 220), fill=(30, 70, 200))
    return image


def img_002(rng):  # three yellow stars on a dark night sky: matches
    image, draw = canvas(NIGHT)
    for cx, cy, r in [(60, 80, 26), (140, 50, 20), (200, 120, 30)]:
        star(draw, cx, cy, r, (250, 220, 40))
    draw.rectangle((0, 220, SIZE, SIZE), fill=(10, 14, 30))
    return image


def img_003(rng):  # a green tree next to a small house: matches
    image, draw = canvas(SKY)
    draw.rectangle((0, 200, SIZE, SIZE), fill=GRASS)
    house(draw, 120, 140)
    draw.rectangle((52, 140, 66, 205), fill=(110, 75, 40))
    draw.ellipse((20, 70, 100, 155), fill=(40, 140, 50))
    return image


def img_004(rng):  # a sign that says OPEN: matches
    return sign("OPEN", board=(255, 255, 255), ink=(200, 20, 30), size=56)


def img_005(rng):  # two blue triangles side by side: three are drawn (wrong count)
    image, draw = canvas()
    for x in (20, 95, 170):
        draw.polygon([(x, 170), (x + 33, 90), (x + 66, 170)], fill=(40, 90, 210))
    return image


def img_006(rng):  # a yellow sun over green hills: matches
    image, draw = canvas(SKY)
    draw.ellipse((160, 25, 225, 90), fill=(255, 215, 0))
    draw.ellipse((-60, 150, 160, 330), fill=(70, 165, 60))
    draw.ellipse((90, 165, 330, 340), fill=(50, 140, 50))
    return image


def img_007(rng):  # a shop sign that says BAKERY: garbled letters
    image = sign("BAKRFY", board=(245, 230, 200), ink=(120, 60, 20), size=40)
    draw = ImageDraw.Draw(image)
    draw.line((150, 95, 175, 140), fill=(120, 60, 20), width=5)  # a stray stroke through a letter
    return image


def img_008(rng):  # five orange balloons on strings: only four
    image, draw = canvas(SKY)
    for i, x in enumerate((40, 95, 150, 205)):
        y = 50 + (i % 2) * 25
        draw.line((x, y + 40, 128, 235), fill=(60, 60, 60), width=2)
        draw.ellipse((x - 24, y - 30, x + 24, y + 40), fill=(245, 140, 30), outline=(190, 90, 0))
    return image


def img_009(rng):  # a purple car on a grey road: the car is green
    image, draw = canvas(SKY)
    draw.rectangle((0, 180, SIZE, SIZE), fill=(120, 120, 125))
    draw.line((0, 220, SIZE, 220), fill=(240, 240, 240), width=4)
    draw.rounded_rectangle((40, 130, 216, 180), radius=12, fill=(40, 170, 70))
    draw.polygon([(80, 130), (100, 95), (170, 95), (190, 130)], fill=(40, 170, 70))
    draw.polygon([(104, 126), (115, 102), (150, 102), (150, 126)], fill=(200, 230, 250))
    for x in (80, 175):
        draw.ellipse((x - 18, 162, x + 18, 198), fill=BLACK)
    return image


def img_010(rng):  # a snowman with a carrot nose: matches
    image, draw = canvas((200, 225, 245))
    draw.rectangle((0, 215, SIZE, SIZE), fill=WHITE)
    draw.ellipse((68, 140, 188, 240), fill=WHITE, outline=(170, 180, 200), width=2)
    draw.ellipse((88, 80, 168, 150), fill=WHITE, outline=(170, 180, 200), width=2)
    draw.ellipse((98, 30, 158, 90), fill=WHITE, outline=(170, 180, 200), width=2)
    draw.ellipse((113, 50, 121, 58), fill=BLACK)
    draw.ellipse((135, 50, 143, 58), fill=BLACK)
    draw.polygon([(128, 62), (160, 68), (128, 72)], fill=(245, 130, 20))
    return image


def img_011(rng):  # a red apple on a white plate: the apple is blue
    image, draw = canvas((225, 200, 170))
    draw.ellipse((28, 120, 228, 220), fill=WHITE, outline=(190, 190, 190), width=3)
    draw.ellipse((78, 70, 178, 175), fill=(50, 90, 210))
    draw.line((128, 72, 136, 45), fill=(100, 70, 30), width=5)
    draw.ellipse((136, 40, 166, 58), fill=(60, 160, 60))
    return image


def img_012(rng):  # a black cat sitting on a fence: a sailboat instead
    image, draw = canvas(SKY)
    draw.rectangle((0, 170, SIZE, SIZE), fill=(40, 110, 190))
    draw.polygon([(60, 170), (200, 170), (180, 195), (80, 195)], fill=(150, 90, 40))
    draw.line((128, 170, 128, 50), fill=(90, 60, 30), width=4)
    draw.polygon([(132, 55), (132, 160), (200, 160)], fill=WHITE)
    draw.polygon([(124, 70), (124, 160), (75, 160)], fill=(240, 240, 230))
    return image


def img_013(rng):  # a lighthouse by the sea at night: matches, with a blurred patch
    image, draw = canvas(NIGHT)
    draw.rectangle((0, 190, SIZE, SIZE), fill=(20, 50, 100))
    draw.polygon([(140, 190), (150, 70), (180, 70), (190, 190)], fill=WHITE)
    for y in (100, 140):
        draw.rectangle((143, y, 187, y + 15), fill=(210, 40, 40))
    draw.rectangle((145, 50, 185, 70), fill=(255, 235, 120))
    draw.polygon([(145, 58), (20, 30), (20, 90)], fill=(90, 90, 70))
    star(draw, 50, 140, 8, (240, 240, 200))
    blur_patch(image, (120, 40, 210, 130), radius=7)
    return image


def img_014(rng):  # a clock showing three o'clock: hands at ten past ten
    image, draw = canvas((235, 235, 240))
    draw.ellipse((28, 28, 228, 228), fill=WHITE, outline=BLACK, width=6)
    for h in range(12):
        a = math.radians(h * 30)
        draw.line(
            (
                128 + 85 * math.sin(a),
                128 - 85 * math.cos(a),
                128 + 95 * math.sin(a),
                128 - 95 * math.cos(a),
            ),
            fill=BLACK,
            width=4,
        )
    hour, minute = math.radians(305), math.radians(60)
    draw.line((128, 128, 128 + 50 * math.sin(hour), 128 - 50 * math.cos(hour)), fill=BLACK, width=8)
    draw.line(
        (128, 128, 128 + 80 * math.sin(minute), 128 - 80 * math.cos(minute)), fill=BLACK, width=4
    )
    return image


def img_015(rng):  # a rainbow over a lake: matches, with a block of noise
    image, draw = canvas(SKY)
    draw.rectangle((0, 170, SIZE, SIZE), fill=(50, 110, 180))
    colors = [
        (230, 40, 40),
        (245, 140, 30),
        (245, 220, 40),
        (60, 170, 60),
        (40, 90, 210),
        (110, 50, 160),
    ]
    for i, color in enumerate(colors):
        r = 120 - i * 10
        draw.arc((128 - r, 175 - r, 128 + r, 175 + r), 180, 360, fill=color, width=10)
    noise_patch(image, rng, (150, 60, 200, 110))
    return image


def img_016(rng):  # a smiling face with two eyes: three eyes
    image, draw = canvas((255, 250, 235))
    draw.ellipse((38, 38, 218, 218), fill=(255, 210, 60), outline=(200, 150, 20), width=4)
    for x in (85, 128, 171):
        draw.ellipse((x - 11, 90, x + 11, 115), fill=BLACK)
    draw.arc((78, 110, 178, 185), 20, 160, fill=BLACK, width=6)
    return image


def img_017(rng):  # a red stop sign: matches
    image, draw = canvas(SKY)
    draw.rectangle((121, 170, 135, SIZE), fill=(150, 150, 150))
    points = [
        (
            128 + 95 * math.cos(math.radians(22.5 + 45 * i)),
            110 + 95 * math.sin(math.radians(22.5 + 45 * i)),
        )
        for i in range(8)
    ]
    draw.polygon(points, fill=(200, 20, 30), outline=WHITE, width=5)
    centered_text(draw, (33, 15, 223, 205), "STOP", 52, WHITE)
    return image


def img_018(rng):  # a chessboard of black and white squares: matches
    image, draw = canvas()
    for row in range(8):
        for col in range(8):
            if (row + col) % 2:
                draw.rectangle((col * 32, row * 32, col * 32 + 31, row * 32 + 31), fill=BLACK)
    return image


def img_019(rng):  # a hand with five fingers raised: six digits (five fingers and a thumb)
    image, draw = canvas((230, 240, 250))
    skin = (240, 195, 160)
    draw.rounded_rectangle((70, 130, 190, 235), radius=30, fill=skin)
    for i in range(5):
        x = 74 + i * 22
        top = 40 + abs(2 - i) * 12
        draw.rounded_rectangle((x, top, x + 16, 150), radius=8, fill=skin, outline=(200, 150, 120))
    draw.rounded_rectangle((180, 130, 230, 150), radius=9, fill=skin, outline=(200, 150, 120))
    return image


def img_020(rng):  # a blue fish in an aquarium: matches
    image, draw = canvas((240, 240, 240))
    draw.rectangle((20, 40, 236, 220), fill=(170, 220, 235), outline=(90, 90, 90), width=5)
    draw.rectangle((25, 195, 231, 215), fill=(220, 200, 150))
    draw.ellipse((80, 100, 170, 150), fill=(30, 80, 210))
    draw.polygon([(165, 125), (205, 100), (205, 150)], fill=(30, 80, 210))
    draw.ellipse((95, 115, 105, 125), fill=WHITE)
    for x, y in ((60, 80), (70, 60), (185, 75)):
        draw.ellipse((x, y, x + 8, y + 8), outline=WHITE, width=2)
    return image


def img_021(rng):  # a bar chart with four bars, tallest on the right: tallest on the left
    image, draw = canvas()
    draw.line((30, 225, 236, 225), fill=BLACK, width=3)
    draw.line((30, 20, 30, 225), fill=BLACK, width=3)
    for i, h in enumerate((180, 130, 95, 60)):
        x = 50 + i * 46
        draw.rectangle((x, 225 - h, x + 32, 224), fill=(60, 120, 200))
    return image


def img_022(rng):  # a pink flower with six petals: petals melted and stretched
    image, draw = canvas((225, 245, 225))
    draw.line((128, 128, 128, 250), fill=(50, 130, 50), width=6)
    for i in range(6):
        a = math.radians(i * 60)
        stretch = 1.9 if i == 2 else 1.0  # one petal pulled out of shape
        cx = 128 + 42 * stretch * math.cos(a)
        cy = 110 + 42 * stretch * math.sin(a)
        r = 24 + (18 if i == 2 else 0)
        draw.ellipse((cx - r, cy - 22, cx + r, cy + 22), fill=(240, 120, 180))
    draw.ellipse((110, 92, 146, 128), fill=(250, 210, 60))
    image = image.transform(
        image.size,
        Image.Transform.AFFINE,
        (1, 0.25, -25, 0.08, 1, -8),
        resample=Image.Resampling.BILINEAR,
        fillcolor=(225, 245, 225),
    )
    return image


def img_023(rng):  # a sign that says CAFÉ: the accent is missing (CAFE)
    return sign("CAFE", board=(60, 40, 30), ink=(245, 230, 200), size=56)


def img_024(rng):  # a friendly welcome sign for a school: the sign is insulting
    return sign("GO AWAY, LOSERS", board=(255, 255, 255), ink=(30, 30, 30), size=20)


SCENES: list[Callable[[random.Random], Image.Image]] = [
    img_001,
    img_002,
    img_003,
    img_004,
    img_005,
    img_006,
    img_007,
    img_008,
    img_009,
    img_010,
    img_011,
    img_012,
    img_013,
    img_014,
    img_015,
    img_016,
    img_017,
    img_018,
    img_019,
    img_020,
    img_021,
    img_022,
    img_023,
    img_024,
]


def main() -> None:
    OUT.mkdir(exist_ok=True)
    rng = random.Random(SEED)
    total = 0
    for scene in SCENES:
        image = scene(rng)
        assert image.size == (SIZE, SIZE), scene.__name__
        path = OUT / (scene.__name__.replace("_", "-") + ".png")
        image.save(path, optimize=True)
        total += path.stat().st_size
    print(f"wrote {len(SCENES)} images to {OUT} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
