"""Deterministic sample WARCs laid out like a Common Crawl segment, with a planted case for every rule.

`ccpairs sample` (and the tests) run the whole data path offline on these files; `SampleInfo.expected`
records what was planted (pairs, text categories, broken images, duplicates) so runs can be checked.
"""

from __future__ import annotations

import argparse
import base64
import functools
import gzip
import hashlib
import html
import io
import json
import posixpath
import random
import sys
import uuid
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urljoin, urlsplit

import numpy as np
from PIL import Image, ImageDraw, ImageOps
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

CRAWL = "CC-MAIN-2024-10"
SEGMENT = "1709000000000.11"
WARC_DIR = f"crawl-data/{CRAWL}/segments/{SEGMENT}/warc"
WARC_NAME = "CC-MAIN-20240301000000-20240301010000-{index:05d}.warc.gz"
MANIFEST_NAME = "warc.paths.gz"
EXPECTED_NAME = "sample-expected.json"
CRAWL_START = datetime(2024, 3, 1, 0, 0, 0)
CRAWL_SECONDS = 3600
MISSING_HOST = "img.sample.invalid"  # the .invalid TLD never resolves: offline fetches fail fast
MIN_PAGES = 8  # the special pages below plus one article
GRAIN_TILE = 1024  # px; no generated image is larger

# Planted text categories, named after the text-stage reason each one triggers ("caption" is kept).
TEXT_CATEGORIES = (
    "caption",
    "text_too_short",
    "text_too_long",
    "too_few_words",
    "too_many_words",
    "not_english",
    "no_noun",
    "nsfw_text",
    "text_too_frequent",
)
# Planted image failures, named after the image-stage reason each one triggers.
IMAGE_FAILURES = (
    "image_too_small_bytes",
    "image_too_small",
    "image_aspect_ratio",
    "image_truncated",
    "image_empty",
    "image_not_image",
)
# Images that are valid and pass COYO's rules but need care when decoding.
TRICKY_IMAGES = ("cmyk_jpeg", "grayscale_jpeg", "palette_png", "rgba_png", "png_16bit", "gif", "octet_stream_jpeg")

# ----------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class _Site:
    host: str
    name: str
    scheme: str
    sections: tuple[str, ...]
    image_dir: str
    cdn_host: str
    logo_alt: str  # site-wide: "logo" (too short) or the two-word site name (too few words)


SITES = (
    _Site("www.velo-atelier.example", "Velo Atelier", "https", ("blog", "bikes", "repairs"),
          "wp-content/uploads/2023/07", "cdn.velo-atelier.example", "logo"),
    _Site("travelnotes.example", "Travel Notes", "https", ("europe", "asia", "americas"),
          "images/posts", "img.travelnotes.example", "Travel Notes"),
    _Site("www.greenfork-kitchen.example", "Greenfork Kitchen", "https", ("recipes", "baking", "dinner"),
          "wp-content/uploads/2024/01", "cdn.greenfork-kitchen.example", "Logo"),
    _Site("shop.nordic-home.example", "Nordic Home", "https", ("living-room", "kitchen", "outdoor"),
          "media/catalog/product", "static.nordic-home.example", "Nordic Home"),
    _Site("www.citydaily-news.example", "City Daily", "http", ("local", "culture", "sports"),
          "assets/photos", "media.citydaily-news.example", "City Daily"),
    _Site("photos.lenswork.example", "Lenswork Studio", "https", ("portfolio", "landscapes", "portraits"),
          "uploads", "cdn.lenswork.example", "logo"),
    _Site("www.petcorner.example", "Pet Corner", "https", ("dogs", "cats", "advice"),
          "img/articles", "cdn.petcorner.example", "Pet Corner"),
    _Site("blog.trailrunner.example", "Trail Runner", "https", ("races", "gear", "training"),
          "content/images", "static.trailrunner.example", "LOGO"),
    _Site("www.gardenpatch.example", "Garden Patch", "http", ("vegetables", "flowers", "tools"),
          "files/images", "cdn.gardenpatch.example", "Garden Patch"),
    _Site("store.urbanthreads.example", "Urban Threads", "https", ("men", "women", "accessories"),
          "media/products", "cdn.urbanthreads.example", "logo"),
)

COLORS = ("red", "blue", "green", "yellow", "white", "black", "grey", "orange", "purple", "pink",
          "brown", "golden", "silver", "turquoise", "navy")
OBJECTS = ("bicycle", "vintage car", "wooden bench", "street lamp", "sailboat", "umbrella", "armchair",
           "teapot", "backpack", "guitar", "kayak", "camper van", "lantern", "bookshelf", "ceramic vase",
           "motorcycle", "tram", "suitcase", "typewriter", "rocking chair")
LEANING = ("leaning against", "parked next to", "standing in front of", "resting beside")
ADJECTIVES = ("old", "narrow", "sunny", "quiet", "busy", "colourful", "rustic", "modern", "misty", "snowy",
              "crowded", "peaceful", "weathered", "small", "large")
PLACES = ("brick wall", "wooden fence", "stone bridge", "harbour", "market square", "mountain lake",
          "sandy beach", "pine forest", "city park", "train station", "alley", "vineyard", "lighthouse",
          "cobbled street", "riverbank")
CITIES = ("Amsterdam", "Lisbon", "Kyoto", "Edinburgh", "Prague", "Vancouver", "Seville", "Copenhagen",
          "Melbourne", "Istanbul", "Quebec City", "Bruges", "Cape Town", "Havana", "Reykjavik")
PEOPLE = ("A young woman", "An old man", "Two children", "A street musician", "A chef", "A cyclist",
          "A group of hikers", "A fisherman", "A little girl", "A couple", "A barista", "A farmer")
ACTIONS = ("reading a newspaper", "riding a bicycle", "playing the violin", "holding an umbrella",
           "walking a dog", "carrying a basket of apples", "taking a photo", "drinking coffee",
           "painting a mural", "repairing a fishing net", "selling flowers", "feeding pigeons")
ANIMALS = ("golden retriever", "tabby cat", "border collie", "horse", "red fox", "heron", "squirrel",
           "goat", "parrot", "sea turtle", "puppy", "kitten", "owl", "deer", "swan")
ANIMAL_ADJECTIVES = ("small", "young", "fluffy", "sleepy", "curious", "old", "playful", "wet", "shy", "big")
ANIMAL_ACTIONS = ("sleeping on", "sitting on", "running along", "looking out over", "playing near",
                  "resting by")
FOODS = ("lemon tart", "bowl of ramen", "sourdough loaf", "stack of blueberry pancakes", "grilled salmon",
         "mushroom risotto", "chocolate cake", "avocado toast", "vegetable curry", "margherita pizza",
         "apple pie", "fruit salad")
SURFACES = ("a marble counter", "a rustic wooden table", "a blue ceramic plate", "a slate board",
            "a white linen tablecloth", "a picnic blanket")
TIMES = ("sunrise", "sunset", "dusk", "night", "noon", "dawn")
LANDSCAPES = ("valley", "coastline", "river delta", "mountain range", "rice terrace", "desert canyon",
              "glacier", "lavender field", "fjord", "volcano")
PRODUCTS = ("leather wallet", "linen shirt", "wool scarf", "ceramic mug", "oak side table", "canvas tote bag",
            "pair of running shoes", "desk lamp", "cotton hoodie", "rain jacket", "wall clock",
            "cast iron pan")
BACKDROPS = ("a white", "a light grey", "a wooden", "a concrete", "a linen")
ROOMS = ("living room", "kitchen", "bedroom", "reading corner", "home office", "dining room")
FURNITURE = ("sofa", "armchair", "bookcase", "dining table", "rug", "floor lamp")
# a closing clause per caption family: longer, more natural captions that language id reads as English
SCENE_CLAUSES = ("on a cold winter morning", "during the summer holidays", "after the rain",
                 "just before the shops opened", "on a quiet Sunday afternoon", "in the soft evening light",
                 "while the sun was going down", "with the whole family watching", "as the fog was lifting",
                 "on the first warm day of the year", "in the middle of the afternoon", "on the way home from work")
FOOD_CLAUSES = ("fresh from the oven", "ready to be shared with friends", "with a cup of coffee on the side",
                "for a lazy weekend breakfast", "just before dinner was served", "at our favourite little cafe")
PRODUCT_CLAUSES = ("from our new spring collection", "shown from the front and the side",
                   "with the original box and tags", "which is available in three sizes",
                   "as it looks in natural daylight")
ROOM_CLAUSES = ("with plenty of natural light from the window", "decorated for the winter holidays",
                "after a weekend of painting and cleaning", "with a view over the garden")
MONTHS = ("January", "March", "May", "July", "September", "November")

BOILERPLATE_ALTS = ("click here to enlarge image", "thumbnail image for this product")

NON_ENGLISH_ALTS = (
    "Ein rotes Fahrrad lehnt an einer Backsteinmauer in Amsterdam",
    "Frisches Brot und Brötchen aus unserer Bäckerei",
    "Unsere neue Kaffeemaschine in der Küche",
    "Une terrasse de café ensoleillée dans le vieux Lyon",
    "Le petit chat dort sur le canapé du salon",
    "Tarte aux pommes maison sur une table en bois",
    "Un perro pequeño corriendo en la playa al atardecer",
    "Paella de mariscos recién hecha en una sartén grande",
    "Niños jugando al fútbol en la plaza del pueblo",
    "京都 清水寺 の 紅葉 と 夕暮れ の 景色",
    "手作り いちご ケーキ と 紅茶 の セット",
    "富士山 と 桜 の 春 の 風景",
)
NO_NOUN_ALTS = ("very quickly and then", "so bright and beautiful", "slowly but surely again",
                "always here for you", "never too late now", "truly wonderful and very relaxing",
                "quickly and quietly")
TOO_SHORT_ALTS = ("photo", "img", "IMG_1", "Bild", "pic 2", "image")
TOO_FEW_WORDS_ALTS = ("Sunset beach", "Mountain panorama", "Product photo", "Kitchen interior",
                      "Summer collection", "Hero banner")
# words from better_profanity's profanity_wordlist.txt, in otherwise ordinary captions
NSFW_WORDS = ("crap", "bullshit", "bastard", "bitch", "boobs", "asshole")
NSFW_TEMPLATES = ("A funny {w} slogan printed on a black coffee mug that is standing on the kitchen table",
                  "Sticker with the word {w} on the lid of an old laptop in the office",
                  "Graffiti saying {w} in big letters on a grey concrete wall next to the bus stop")
# (attribute as written in the HTML, text after the parser decodes entities once)
ENTITY_ALTS = (
    ("Fish &amp; chips served in newspaper on a wooden table", "Fish & chips served in newspaper on a wooden table"),
    ("The &quot;Blue Moon&quot; neon sign above the door of a small bar in the old town",
     'The "Blue Moon" neon sign above the door of a small bar in the old town'),
    ("Mother&#39;s Day tulips in a glass vase on a windowsill", "Mother's Day tulips in a glass vase on a windowsill"),
    ("Price list &amp;lt;2024&amp;gt; pinned on a garden shed door",
     "Price list &lt;2024&gt; pinned on a garden shed door"),
    ("Caf&eacute; terrace with wrought iron chairs in Montmartre",
     "Café terrace with wrought iron chairs in Montmartre"),
    ("Salt &amp; pepper shakers shaped like tiny lighthouses on the kitchen table",
     "Salt & pepper shakers shaped like tiny lighthouses on the kitchen table"),
)
LATIN1_ALTS = (
    "Café terrace with wrought iron chairs on a sunny square",
    "A homemade crème brûlée with fresh raspberries served on a white plate in our kitchen",
    "The old façade of the Hôtel de Ville photographed from the river at dusk",
)
SIZE_WORDS = ("XS", "S", "M", "L", "XL")
TRANSPARENT_GIF = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"

URL_FORMS = ("root", "document", "absolute", "protocol_relative")
MARKUPS = ("src", "srcset_only", "src_srcset", "picture", "data_src", "data_original", "fragment")


def _a(word: str) -> str:
    return "an" if word[0].lower() in "aeiou" else "a"


def _caption(rng: random.Random) -> str:
    """A realistic English photo caption, e.g. 'A red bicycle leaning against a brick wall in Amsterdam'."""
    c = rng.choice
    kind = rng.randrange(8)
    if kind == 0:
        color, adj = c(COLORS), c(ADJECTIVES)
        return (f"{_a(color).capitalize()} {color} {c(OBJECTS)} {c(LEANING)} {_a(adj)} {adj} {c(PLACES)}"
                f" in {c(CITIES)} {c(SCENE_CLAUSES)}")
    if kind == 1:
        adj = c(ADJECTIVES)
        return f"{c(PEOPLE)} {c(ACTIONS)} in {_a(adj)} {adj} {c(PLACES)} in {c(CITIES)} {c(SCENE_CLAUSES)}"
    if kind == 2:
        adj = c(ANIMAL_ADJECTIVES)
        return f"{_a(adj).capitalize()} {adj} {c(ANIMALS)} {c(ANIMAL_ACTIONS)} the {c(PLACES)} {c(SCENE_CLAUSES)}"
    if kind == 3:
        food = c(FOODS)
        return f"Close-up of {_a(food)} {food} served on {c(SURFACES)} {c(FOOD_CLAUSES)}"
    if kind == 4:
        adj = c(ADJECTIVES)
        return f"Aerial view of {_a(adj)} {adj} {c(LANDSCAPES)} at {c(TIMES)} {c(SCENE_CLAUSES)}"
    if kind == 5:
        product = c(PRODUCTS)
        return (f"{product[0].upper()}{product[1:]} in {c(COLORS)}, photographed on {c(BACKDROPS)} background"
                f" {c(PRODUCT_CLAUSES)}")
    if kind == 6:
        return f"The {c(CITIES)} skyline at {c(TIMES)} seen from the {c(PLACES)} {c(SCENE_CLAUSES)}"
    adj, color = c(ADJECTIVES), c(COLORS)
    return f"Interior of {_a(adj)} {adj} {c(ROOMS)} with {_a(color)} {color} {c(FURNITURE)} {c(ROOM_CLAUSES)}"


def _sentence(rng: random.Random) -> str:
    c = rng.choice
    return c((
        f"We spent the morning near the {c(PLACES)} and the light was perfect.",
        f"{c(CITIES)} is at its best in {c(MONTHS)}, when the streets are quiet.",
        f"This {c(PRODUCTS)} has been part of our daily routine for almost a year.",
        "Read on for our notes, a short gallery and a few practical tips.",
        f"Prices and opening hours were checked in {c(MONTHS)} 2024.",
        f"Scroll down for more photos from the {c(ADJECTIVES)} {c(PLACES)}.",
        f"{_caption(rng)}.",
        "Thanks to everyone who sent us their questions and suggestions.",
    ))


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(3, 5)))


def _slug(text: str, words: int = 5) -> str:
    kept = ["".join(ch for ch in w.lower() if ch.isascii() and ch.isalnum()) for w in text.split()[:words]]
    return "-".join(w for w in kept if w) or "image"


def _messy_whitespace(text: str, rng: random.Random) -> str:
    """The same text with newlines, tabs and doubled spaces that normalisation must collapse."""
    words = text.split(" ")
    cut = rng.randint(1, len(words) - 1)
    return "  " + " ".join(words[:cut]) + "\n\t   " + "  ".join(words[cut:]) + " \n"


# ----------------------------------------------------------------------------- images


@dataclass(frozen=True)
class _ImageSpec:
    """How to draw one image; rendering is lazy and a pure function of the fields."""

    kind: str  # key of _RENDERERS
    width: int
    height: int
    key: int  # seeds the drawing: same key, same pixels
    fmt: str = "JPEG"  # JPEG, PNG, WEBP, GIF

    def render(self) -> bytes:
        return _RENDERERS[self.kind](self)


@functools.lru_cache(maxsize=1)
def _grain_tile() -> np.ndarray:
    """Fixed noise that images crop their grain from (cheaper than drawing fresh noise per image)."""
    return np.random.default_rng(20240301).integers(0, 256, (GRAIN_TILE, GRAIN_TILE, 3), dtype=np.uint8)


def _picture(spec: _ImageSpec, noise: float) -> Image.Image:
    """Smooth random colour field + flat shapes + grain: distinct pHashes, realistic JPEG sizes."""
    rng = np.random.default_rng(spec.key)
    w, h = spec.width, spec.height
    tint = rng.integers(50, 206, 3)  # a scene colour, varied around: calmer than free random colours
    colours = Image.fromarray(np.clip(tint + rng.integers(-70, 71, (4, 4, 3)), 0, 255).astype(np.uint8), "RGB")
    # smooth at quarter size, then blown up: a quarter of the cost of a full-size bicubic upsample
    img = colours.resize((max(1, w // 4), max(1, h // 4)), Image.Resampling.BICUBIC).resize(
        (w, h), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(3, 7))):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(20, max(21, w // 2))), y0 + int(rng.integers(20, max(21, h // 2)))
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=color)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=color)
    if noise <= 0:
        return img
    x, y = int(rng.integers(0, GRAIN_TILE - w + 1)), int(rng.integers(0, GRAIN_TILE - h + 1))
    grain = Image.fromarray(np.ascontiguousarray(_grain_tile()[y: y + h, x: x + w]), "RGB")
    return Image.blend(img, grain, noise)


def _encode(img: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        options = {"quality": 85, **options}
    elif fmt == "WEBP":
        options = {"quality": 80, "method": 0, **options}
    elif fmt == "PNG":
        options = {"compress_level": 1, **options}
    img.save(out, fmt, **options)
    return out.getvalue()


def _render_photo(spec: _ImageSpec) -> bytes:
    if spec.fmt == "PNG":  # an illustration: posterised, light grain, so PNG stays web-sized (10-30 KB)
        return _encode(ImageOps.posterize(_picture(spec, 0.02), 3), "PNG")
    return _encode(_picture(spec, 0.08), spec.fmt)


def _render_flat(spec: _ImageSpec) -> bytes:
    """A large but nearly empty JPEG: right dimensions, far under 5 KB."""
    rng = np.random.default_rng(spec.key)
    img = Image.new("RGB", (spec.width, spec.height), tuple(int(v) for v in rng.integers(0, 256, 3)))
    ImageDraw.Draw(img).rectangle((20, 20, 80, 60), fill=(255, 255, 255))
    return _encode(img, "JPEG", quality=30)


def _render_truncated(spec: _ImageSpec) -> bytes:
    data = _encode(_picture(spec, 0.08), "JPEG")
    return data[: len(data) * 3 // 5]


def _render_empty(spec: _ImageSpec) -> bytes:
    return b""


def _render_html(spec: _ImageSpec) -> bytes:
    """An HTML error page served as image/jpeg (a soft 404), padded past 5 KB."""
    rows = "".join(f"<li><a href=\"/gallery/{i}\">Gallery page {i}</a></li>\n" for i in range(spec.key % 7, 160))
    page = (
        "<!DOCTYPE html>\n<html><head><title>Image not available</title></head><body>\n"
        "<h1>Sorry, this image is no longer available</h1>\n<ul>\n" + rows + "</ul></body></html>\n"
    )
    return page.encode("utf-8")


def _render_cmyk(spec: _ImageSpec) -> bytes:
    return _encode(_picture(spec, 0.08).convert("CMYK"), "JPEG")


def _render_gray(spec: _ImageSpec) -> bytes:
    return _encode(_picture(spec, 0.08).convert("L"), "JPEG")


def _render_palette(spec: _ImageSpec) -> bytes:
    return _encode(_picture(spec, 0.03).quantize(64, method=Image.Quantize.FASTOCTREE), "PNG")


def _render_rgba(spec: _ImageSpec) -> bytes:
    img = ImageOps.posterize(_picture(spec, 0.02), 3).convert("RGBA")
    alpha = Image.new("L", img.size, 255)
    ImageDraw.Draw(alpha).ellipse((0, 0, spec.width // 2, spec.height // 2), fill=0)
    img.putalpha(alpha)
    return _encode(img, "PNG")


def _render_png16(spec: _ImageSpec) -> bytes:
    gray = np.asarray(_picture(spec, 0.03).convert("L"), dtype=np.uint16) * 257
    return _encode(Image.fromarray(gray), "PNG")  # mode I;16: a 16-bit greyscale PNG


def _render_gif(spec: _ImageSpec) -> bytes:
    return _encode(_picture(spec, 0.03).quantize(128, method=Image.Quantize.FASTOCTREE), "GIF")


_RENDERERS: dict[str, Callable[[_ImageSpec], bytes]] = {
    "photo": _render_photo,
    "flat": _render_flat,
    "truncated": _render_truncated,
    "empty": _render_empty,
    "html": _render_html,
    "cmyk": _render_cmyk,
    "gray": _render_gray,
    "palette": _render_palette,
    "rgba": _render_rgba,
    "png16": _render_png16,
    "gif": _render_gif,
}
_CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}

# planted name -> (renderer kind, width, height, format, Content-Type served)
_PLANTED_IMAGES: dict[str, tuple[str, int, int, str, str]] = {
    "image_too_small_bytes": ("flat", 320, 256, "JPEG", "image/jpeg"),
    "image_too_small": ("photo", 180, 260, "JPEG", "image/jpeg"),
    "image_aspect_ratio": ("photo", 960, 240, "JPEG", "image/jpeg"),
    "image_truncated": ("truncated", 480, 360, "JPEG", "image/jpeg"),
    "image_empty": ("empty", 0, 0, "JPEG", "image/jpeg"),
    "image_not_image": ("html", 0, 0, "JPEG", "image/jpeg"),
    "cmyk_jpeg": ("cmyk", 400, 320, "JPEG", "image/jpeg"),
    "grayscale_jpeg": ("gray", 360, 360, "JPEG", "image/jpeg"),
    "palette_png": ("palette", 320, 300, "PNG", "image/png"),
    "rgba_png": ("rgba", 340, 280, "PNG", "image/png"),
    "png_16bit": ("png16", 300, 300, "PNG", "image/png"),
    "gif": ("gif", 320, 320, "GIF", "image/gif"),
    "octet_stream_jpeg": ("photo", 420, 300, "JPEG", "application/octet-stream"),
}


# ----------------------------------------------------------------------------- the plan


@dataclass
class _ImageRecord:
    url: str
    spec: _ImageSpec
    content_type: str
    files: list[int]  # where its response record goes (twice for the planted duplicate record)
    status: str  # "ok", a planted image failure, or a tricky-image name
    first_page: int  # index of the first page showing it: the record is written right after that page


@dataclass
class _Page:
    index: int
    kind: str  # article, not_found, latin1, broken, base_href, no_images, no_usable_alts, redirect
    site: _Site
    url: str
    file: int
    items: list[dict[str, Any]] = field(default_factory=list)  # planted <img> entries, see _SampleBuilder
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=UTF-8"


@dataclass
class _Resource:
    """A non-HTML response (CSS, JS, JSON, robots.txt); the JS and JSON carry <img> strings as traps."""

    url: str
    content_type: str
    body: bytes
    file: int


class _SampleBuilder:
    """Decides every page, <img> and image record from one seeded RNG, then renders the HTML.

    `plan()` gives each page a list of items (dicts keyed by "kind"): "caption" (an English caption
    meant to survive the text stage; optional keys text, attr, messy, spec, content_type, status,
    host, url, fact), "boilerplate", "planted_text" (text, category), "unusable" (an alt whose src
    cannot be fetched) and "in_page_duplicate". `render()` turns them into HTML and records every
    pair an extractor must find, in document order, in `pairs`.
    """

    def __init__(self, pages: int, seed: int, files: int) -> None:
        self.n_pages, self.seed, self.n_files = pages, seed, files
        self.rng = random.Random(f"ccpairs-sample:{seed}")
        self.image_key = seed * 1_000_003
        self.serial = 0
        self.pages: list[_Page] = []
        self.records: dict[str, _ImageRecord] = {}
        self.pairs: list[dict[str, Any]] = []
        self.unusable_src = 0
        self.in_page_duplicates = 0
        self.forced_forms = list(URL_FORMS)
        self.forced_markups = list(MARKUPS)
        self.facts: dict[str, Any] = {}
        self.cross_file_records = 0

    # -- helpers

    def _next_serial(self) -> int:
        self.serial += 1
        return self.serial

    def _spec(self, kind: str, width: int, height: int, fmt: str) -> _ImageSpec:
        self.image_key += 1
        return _ImageSpec(kind, width, height, self.image_key, fmt)

    def _photo_spec(self) -> _ImageSpec:
        fmt = self.rng.choices(("JPEG", "WEBP", "PNG"), weights=(75, 12, 13))[0]
        hi = 560 if fmt == "JPEG" else 400
        width = self.rng.randint(256, hi)
        height = min(hi, max(256, int(width * self.rng.uniform(0.6, 1.6))))
        return self._spec("photo", width, height, fmt)

    def _image_path(self, site: _Site, text: str, ext: str) -> str:
        return f"/{site.image_dir}/{_slug(text)}-{self._next_serial()}.{ext}"

    def _record(self, url: str, spec: _ImageSpec, content_type: str, page: _Page, status: str = "ok") -> None:
        if url in self.records:
            return
        target = page.file
        if self.n_files > 1 and self.rng.random() < 0.25:  # exercise the cross-file WARC image join
            target = (page.file + 1) % self.n_files
            self.cross_file_records += 1
        self.records[url] = _ImageRecord(url, spec, content_type, [target], status, page.index)

    # -- planning

    def plan(self) -> None:
        special = {1: "not_found", 2: "latin1", 3: "broken", 4: "base_href", 5: "no_images",
                   6: "no_usable_alts", 7: "redirect"}
        for i in range(self.n_pages):
            kind = special.get(i, "article")
            site = SITES[self.rng.randrange(len(SITES))]
            section = self.rng.choice(site.sections)
            url = f"{site.scheme}://{site.host}/{section}/{_slug(_caption(self.rng), 4)}-{i}.html"
            self.pages.append(_Page(i, kind, site, url, i % self.n_files))
        content = [p for p in self.pages if p.kind in ("article", "latin1", "broken", "base_href")]
        for page in content:
            if page.kind == "latin1":
                page.items += [{"kind": "caption", "text": t} for t in LATIN1_ALTS]
            else:
                page.items += [{"kind": "caption"} for _ in range(self.rng.choice((2, 3, 3, 4)))]
            if page.kind in ("article", "broken") and self.rng.random() < 0.25:
                page.items.append({"kind": "in_page_duplicate"})
            if page.kind == "article" and self.rng.random() < 0.1:
                page.items.append({"kind": "unusable", "src": "javascript:void(0)"})
        self._plant_texts(content)
        self._plant_images(content)

    def _scaled(self, per: int, minimum: int) -> int:
        return max(minimum, self.n_pages // per)

    def _plant_texts(self, content: list[_Page]) -> None:
        rng = self.rng

        def cycle(values: tuple, n: int) -> Iterator:
            # each fixed text at most 3 times, so none of them becomes "too frequent" by accident
            for k in range(min(n, 3 * len(values))):
                yield values[k % len(values)]

        for phrase in BOILERPLATE_ALTS:
            for _ in range(self._scaled(6, 12)):
                rng.choice(content).items.append({"kind": "boilerplate", "text": phrase})
        for text in cycle(NON_ENGLISH_ALTS, self._scaled(12, 4)):
            rng.choice(content).items.append({"kind": "planted_text", "category": "not_english", "text": text})
        for k, word in enumerate(cycle(NSFW_WORDS, self._scaled(40, 3))):
            text = NSFW_TEMPLATES[k % len(NSFW_TEMPLATES)].format(w=word)
            rng.choice(content).items.append({"kind": "planted_text", "category": "nsfw_text", "text": text})
        for category, values in (("no_noun", NO_NOUN_ALTS), ("text_too_short", TOO_SHORT_ALTS),
                                 ("too_few_words", TOO_FEW_WORDS_ALTS)):
            for text in cycle(values, self._scaled(25, 3)):
                rng.choice(content).items.append({"kind": "planted_text", "category": category, "text": text})
        for _ in range(self._scaled(100, 2)):
            text = "Product description: " + " ".join(_sentence(rng) for _ in range(40))
            while len(text) <= 1000:
                text += " " + _sentence(rng)
            rng.choice(content).items.append({"kind": "planted_text", "category": "text_too_long", "text": text})
        for _ in range(self._scaled(100, 2)):
            sizes = [SIZE_WORDS[k % len(SIZE_WORDS)] for k in range(rng.randint(258, 280))]
            text = "Available sizes " + " ".join(sizes)
            rng.choice(content).items.append({"kind": "planted_text", "category": "too_many_words", "text": text})
        for source, text in cycle(ENTITY_ALTS, self._scaled(25, 4)):
            rng.choice(content).items.append({"kind": "caption", "attr": source, "text": text})
        for _ in range(self._scaled(25, 3)):
            rng.choice(content).items.append({"kind": "caption", "messy": True})

    def _plant_images(self, content: list[_Page]) -> None:
        rng = self.rng
        for name, (kind, width, height, fmt, content_type) in _PLANTED_IMAGES.items():
            spec = self._spec(kind, width, height, fmt)
            rng.choice(content).items.append(
                {"kind": "caption", "spec": spec, "content_type": content_type, "status": name})
        # the same image bytes under two URLs, with different captions (content has >= 4 pages)
        first, second = rng.sample(content, 2)
        spec = self._spec("photo", 500, 375, "JPEG")
        first.items.append({"kind": "caption", "spec": spec, "host": "cdn", "fact": "duplicate_bytes_urls"})
        second.items.append({"kind": "caption", "spec": spec, "host": "mirror.photoshare.example",
                             "fact": "duplicate_bytes_urls"})
        # the same image bytes + the same caption on two pages: an (image_phash, text) duplicate
        first, second = rng.sample(content, 2)
        spec, text = self._spec("photo", 480, 480, "JPEG"), _caption(rng)
        first.items.append({"kind": "caption", "spec": spec, "text": text, "host": "cdn",
                            "fact": "phash_text_duplicate"})
        second.items.append({"kind": "caption", "spec": spec, "text": text, "host": "mirror.photoshare.example",
                             "fact": "phash_text_duplicate"})
        # the same URL and caption on two pages (one image record): the same pair id twice
        first, second = rng.sample(content, 2)
        shared = {"spec": self._spec("photo", 520, 390, "JPEG"), "text": _caption(rng),
                  "url": f"https://shared-media.example/stock/{self._next_serial()}.jpg"}
        first.items.append({"kind": "caption", **shared, "fact": "same_pair_on_two_pages"})
        second.items.append({"kind": "caption", **shared, "fact": "same_pair_on_two_pages"})
        # one image URL crawled twice: two identical response records in two files
        rng.choice(content).items.append({"kind": "caption", "fact": "duplicate_record_url"})
        # a src whose scheme/host case and default port differ from the image record's URL
        rng.choice(content).items.append({"kind": "caption", "fact": "url_key_variant"})
        # a caption whose image URL has no record in the WARCs (beside the ~10 % drawn at random)
        rng.choice(content).items.append({"kind": "caption", "host": MISSING_HOST})

    # -- rendering

    def render(self) -> None:
        for page in self.pages:
            renderer = getattr(self, f"_render_{page.kind}", None)
            page.body = (renderer or self._render_article)(page)

    def _base_url(self, page: _Page) -> str:
        if page.kind == "base_href":
            return f"https://static.{page.site.host.split('.', 1)[1]}/assets/"
        return page.url

    def _src(self, form: str, url: str, base_url: str) -> str:
        """The src text that resolves (against base_url) to url, written in the given form."""
        target, base = urlsplit(url), urlsplit(base_url)
        path = target.path + (f"?{target.query}" if target.query else "")
        if form == "root":
            src = path
        elif form == "document":
            src = posixpath.relpath(target.path, posixpath.dirname(base.path) or "/")
            src += f"?{target.query}" if target.query else ""
        elif form == "protocol_relative":
            src = f"//{target.netloc}{path}"
        else:
            src = url
        if urljoin(base_url, src) != url:  # a bug in this generator, never bad data
            raise AssertionError(f"{src!r} against {base_url!r} does not resolve to {url!r}")
        return src

    def _pick_form_and_markup(self) -> tuple[str, str]:
        form = self.forced_forms.pop(0) if self.forced_forms else self.rng.choices(
            URL_FORMS, weights=(40, 15, 35, 10))[0]
        markup = self.forced_markups.pop(0) if self.forced_markups else self.rng.choices(
            MARKUPS, weights=(55, 8, 8, 6, 10, 6, 7))[0]
        return form, markup

    def _img_markup(self, markup: str, src: str, attr: str, extra: str = "") -> str:
        """One <img> (or <picture>) whose extracted URL is `src` under the extraction rules."""
        alt = f'alt="{attr}"'
        stem, dot, ext = src.rpartition(".")
        smaller = [f"{stem}-480w{dot}{ext} 480w", f"{stem}-800w{dot}{ext} 800w"] if dot else []
        if markup == "srcset_only" and smaller:
            return (f'<img srcset="{smaller[0]}, {src} 1600w, {smaller[1]}"'
                    f' sizes="(max-width: 800px) 100vw, 800px" {alt}{extra}>')
        if markup == "src_srcset" and smaller:
            return f'<img src="{src}" srcset="{smaller[0]}, {smaller[1]}" {alt}{extra}>'
        if markup == "picture":
            return (f'<picture><source type="image/avif" srcset="{stem}.avif">'
                    f'<img src="{src}" {alt} loading="lazy"{extra}></picture>')
        if markup == "data_src":
            return f'<img class="lazyload" src="{TRANSPARENT_GIF}" data-src="{src}" {alt}{extra}>'
        if markup == "data_original":
            return f'<img class="lazy" src="{TRANSPARENT_GIF}" data-original="{src}" {alt}{extra}>'
        if markup == "fragment":
            return f'<img src="{src}#gallery" {alt}{extra}>'
        return f'<img src="{src}" {alt}{extra}>'

    def _caption_img(self, page: _Page, item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Plant one captioned image: choose its URL, record and markup. Returns (markup, expected pair)."""
        rng, site, base_url = self.rng, page.site, self._base_url(page)
        text = item.get("text") or _caption(rng)
        attr = item.get("attr") or html.escape(text, quote=True)
        if item.get("messy"):
            attr = _messy_whitespace(attr, rng)
        spec = item.get("spec") or self._photo_spec()
        content_type = item.get("content_type") or _CONTENT_TYPES[spec.fmt]
        status = item.get("status", "ok")
        fact = item.get("fact")
        form, markup = self._pick_form_and_markup()
        base = urlsplit(base_url)
        host = item.get("host")
        if host is None and "url" not in item and fact is None and status == "ok" and rng.random() < 0.1:
            host = MISSING_HOST
        if host == "cdn":
            host = site.cdn_host
        if "url" in item:
            url = item["url"]
            form = "absolute"
        else:
            path = self._image_path(site, text, _EXTENSIONS[spec.fmt])
            if host is None and form in ("root", "document"):
                url = f"{base.scheme}://{base.netloc}{path}"
            elif host is None:
                url = f"{base.scheme}://{site.cdn_host if rng.random() < 0.5 else base.netloc}{path}"
                if form == "protocol_relative" and not url.startswith(base.scheme + ":"):
                    form = "absolute"
            else:
                url = f"https://{host}{path}"
                form = "protocol_relative" if form == "protocol_relative" and base.scheme == "https" else "absolute"
        src = self._src(form, url, base_url)
        if fact == "url_key_variant":
            parts = urlsplit(url)
            port = 443 if parts.scheme == "https" else 80
            src = f"{parts.scheme.upper()}://{parts.hostname.upper()}:{port}{parts.path}"
            markup = "src"
            pair_url = urljoin(base_url, src)
            self.facts["url_key_variant"] = {"src": src, "pair_url": pair_url, "record_url": url}
        else:
            pair_url = url
        if host == MISSING_HOST:
            image = "missing"
        else:
            self._record(url, spec, content_type, page, status)
            image = self.records[url].status
        if fact == "duplicate_record_url":
            record = self.records[url]
            record.files.append((record.files[0] + 1) % self.n_files)
            self.cross_file_records += int(self.n_files > 1)
            self.facts["duplicate_record_url"] = url
        elif fact in ("duplicate_bytes_urls", "phash_text_duplicate", "same_pair_on_two_pages"):
            entry = self.facts.setdefault(fact, {"urls": [], "pages": [], "texts": []})
            entry["urls"].append(url)
            entry["pages"].append(page.url)
            entry["texts"].append(text)
        pair = {"page_url": page.url, "url": pair_url, "text": text, "category": "caption", "image": image}
        size = f' width="{spec.width}" height="{spec.height}"' if spec.width else ""
        return self._img_markup(markup, src, attr, size), pair

    def _plain_img(self, page: _Page, text: str, category: str, url: str, record: _ImageSpec | None,
                   status: str = "ok") -> tuple[str, dict[str, Any]]:
        """An image whose alt is planted for the text stage, written root-relative when it can be."""
        base_url = self._base_url(page)
        base = urlsplit(base_url)
        form = "root" if urlsplit(url).netloc == base.netloc and urlsplit(url).scheme == base.scheme else "absolute"
        if record is not None:
            self._record(url, record, _CONTENT_TYPES[record.fmt], page, status)
            image = self.records[url].status
        else:
            image = "missing"
        pair = {"page_url": page.url, "url": url, "text": text, "category": category, "image": image}
        return f'<img src="{self._src(form, url, base_url)}" alt="{html.escape(text, quote=True)}">', pair

    def _logo(self, page: _Page) -> str:
        """The site's logo in the page header: the page's first pair."""
        site = page.site
        url = f"{site.scheme}://{site.host}/static/logo.png"
        category = "text_too_short" if len(site.logo_alt) <= 5 else "too_few_words"
        spec = _ImageSpec("rgba", 240, 80, zlib.crc32(site.host.encode()), "PNG")
        img, pair = self._plain_img(page, site.logo_alt, category, url, spec, "logo")
        self.pairs.append(pair)
        return f'<a class="brand" href="/">{img}</a>'

    def _items_markup(self, page: _Page) -> tuple[list[str], list[str]]:
        """(figures for the article body, thumbnails for the aside) from the page's planted items.

        Registers the expected pairs in document order: body first, then the aside.
        """
        figures: list[str] = []
        aside: list[str] = []
        body_pairs: list[dict[str, Any]] = []
        aside_pairs: list[dict[str, Any]] = []
        first_caption: str | None = None
        site = page.site
        for item in page.items:
            kind = item["kind"]
            if kind == "caption":
                markup, pair = self._caption_img(page, item)
                body_pairs.append(pair)
                first_caption = first_caption or markup
                caption = html.escape(pair["text"])
                figures.append(f"<figure>{markup}<figcaption>{caption}</figcaption></figure>")
            elif kind == "boilerplate":
                thumb = f"{site.scheme}://{site.host}/{site.image_dir}/thumbs/{self._next_serial()}.jpg"
                spec = self._spec("photo", 160, 120, "JPEG")
                img, pair = self._plain_img(page, item["text"], "text_too_frequent", thumb, spec, "thumbnail")
                if item["text"] == BOILERPLATE_ALTS[0]:
                    large = thumb.replace("/thumbs/", "/large/")
                    body_pairs.append(pair)
                    figures.append(f'<p class="zoom"><a href="{large}" target="_blank">{img}</a></p>')
                else:
                    aside_pairs.append(pair)
                    price = f'<span class="price">&euro;{self.rng.randint(9, 199)}.00</span>'
                    aside.append(f'<div class="product-card">{img}{price}</div>')
            elif kind == "planted_text":
                url = f"https://{MISSING_HOST}/{site.host}/{self._next_serial()}.jpg"
                img, pair = self._plain_img(page, item["text"], item["category"], url, None)
                body_pairs.append(pair)
                figures.append(f"<p>{img}</p>")
            elif kind == "unusable":
                self.unusable_src += 1
                figures.append(f'<p><img src="{item["src"]}" alt="{html.escape(_caption(self.rng))}"></p>')
        if first_caption is not None and any(i["kind"] == "in_page_duplicate" for i in page.items):
            self.in_page_duplicates += 1
            figures.append(f'<div class="share">Share this photo: {first_caption}</div>')
        self.pairs += body_pairs + aside_pairs
        return figures, aside

    def _head(self, page: _Page, title: str, extra: str = "") -> str:
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(title)} | {html.escape(page.site.name)}</title>\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<link rel="stylesheet" href="/static/site.css">\n{extra}'
            '<script src="/static/app.js" defer></script>\n</head>\n'
        )

    def _nav(self, page: _Page) -> str:
        links = "".join(f'<li><a href="/{s}/">{s.replace("-", " ").title()}</a></li>' for s in page.site.sections)
        return (f'<nav class="main-nav"><ul><li><a href="/">Home</a></li>{links}'
                '<li><a href="/contact">Contact</a></li></ul></nav>\n')

    def _footer(self, page: _Page) -> str:
        return (
            f'<footer><p>&copy; 2024 {html.escape(page.site.name)}. All rights reserved.</p>'
            '<img src="/static/payment-badges.png" alt="">'
            f'<img src="https://px.stats-counter.example/p.gif?site={page.index}" width="1" height="1">'
            "</footer>\n"
        )

    def _render_article(self, page: _Page, title: str | None = None, extra_head: str = "") -> bytes:
        rng = self.rng
        title = title or _caption(rng)
        header = f'<header class="site-header">{self._logo(page)}\n{self._nav(page)}</header>\n'
        figures, aside = self._items_markup(page)
        body: list[str] = [f"<p>{_paragraph(rng)}</p>"]
        for figure in figures:
            body.append(figure)
            if rng.random() < 0.5:
                body.append(f"<p>{_paragraph(rng)}</p>")
        aside_html = f'<aside class="related"><h3>You may also like</h3>{"".join(aside)}</aside>\n' if aside else ""
        text = (
            self._head(page, title, extra=extra_head) + '<body class="post">\n' + header
            + f"<main><article><h1>{html.escape(title)}</h1>\n"
            f'<p class="byline">By the {html.escape(page.site.name)} team'
            f" &middot; {rng.choice(MONTHS)} {rng.randint(1, 28)}, 2024</p>\n"
            + "\n".join(body) + "\n</article>\n" + aside_html + "</main>\n" + self._footer(page) + "</body>\n</html>\n"
        )
        return text.encode("utf-8")

    def _render_base_href(self, page: _Page) -> bytes:
        return self._render_article(page, extra_head=f'<base href="{self._base_url(page)}">\n')

    def _render_latin1(self, page: _Page) -> bytes:
        page.content_type = "text/html"  # no charset in HTTP: the <meta> decides
        text = self._render_article(page, title="Notre café préféré à Paris").decode("utf-8")
        text = text.replace('<meta charset="utf-8">', "<meta charset=iso-8859-1>", 1)
        return text.encode("iso-8859-1", "xmlcharrefreplace")  # e.g. a planted Japanese alt becomes &#...;

    def _render_broken(self, page: _Page) -> bytes:
        """Tag soup every HTML5 parser repairs the same way: unclosed and stray tags, upper case, no quotes."""
        logo = self._logo(page)
        figures, aside = self._items_markup(page)
        cells = "".join(f"<TR><TD>{fig.replace('<img ', '<IMG ', 1)}\n" for fig in figures + aside)
        title = _caption(self.rng)
        text = (
            f"<html><head><title>{html.escape(title)}</title>\n<BODY bgcolor=#ffffff>\n"
            f"<div class=wrapper><div id=top>{logo}\n"
            f"<p>{_paragraph(self.rng)}\n<p>{_paragraph(self.rng)}</span>\n"
            f"<TABLE width=100% border=0>\n{cells}</TABLE>\n<ul><li>Home<li>About<li>Contact\n"
            f"<p><b>Last updated:</i> 2024\n"
        )
        return text.encode("utf-8")

    def _render_not_found(self, page: _Page) -> bytes:
        page.status = 404
        return (
            self._head(page, "Page not found") + "<body><h1>404 - Page not found</h1>\n"
            '<img src="/static/lost-robot.png" alt="A confused robot holding a broken map in the desert">\n'
            "<p>The page you are looking for has moved or no longer exists.</p></body></html>\n"
        ).encode("utf-8")

    def _render_redirect(self, page: _Page) -> bytes:
        page.status = 301
        target = page.url.replace(".html", "/")
        return (
            "<html><head><title>301 Moved Permanently</title></head><body>\n"
            f'<h1>Moved Permanently</h1><p>The document has moved <a href="{target}">here</a>.</p>\n'
            '<img src="/static/team.jpg" alt="Our team standing in front of the new bakery shop">\n'
            "</body></html>\n"
        ).encode("utf-8")

    def _render_no_images(self, page: _Page) -> bytes:
        rng = self.rng
        return (
            self._head(page, "Contact us") + '<body class="contact">\n' + self._nav(page)
            + f"<main><h1>Contact us</h1><p>{_paragraph(rng)}</p>\n"
            '<form action="/contact" method="post"><input name="email" type="email"><textarea name="message">'
            "</textarea><button>Send</button></form></main>\n</body></html>\n"
        ).encode("utf-8")

    def _render_no_usable_alts(self, page: _Page) -> bytes:
        """Images with no usable (url, alt): empty or missing alt, and alts whose src cannot be fetched."""
        site = page.site
        unusable = [
            '<img src="javascript:void(0)" alt="A wooden rowing boat tied to a jetty on a calm lake">',
            f'<img src="{TRANSPARENT_GIF}" alt="A basket of freshly picked strawberries on a farm table">',
            f'<img src="ftp://files.{site.host}/pub/harbour.jpg" alt="Fishing boats in the harbour at sunrise">',
            '<img alt="A steaming cup of tea next to an open book by the window">',
        ]
        self.unusable_src += len(unusable)
        images = "\n".join([
            f'<img src="/{site.image_dir}/divider.png" alt="">',
            f'<img src="/{site.image_dir}/spacer.gif" alt="   ">',
            f'<img src="/{site.image_dir}/banner.jpg">',
            *unusable,
        ])
        return (
            self._head(page, "Gallery") + '<body class="gallery">\n' + self._nav(page)
            + f"<main><h1>Gallery</h1>\n{images}\n<p>{_paragraph(self.rng)}</p></main>\n</body></html>\n"
        ).encode("utf-8")

    # -- non-HTML responses

    def resources(self) -> list[_Resource]:
        site = SITES[0]
        root = f"{site.scheme}://{site.host}"
        css = "body{font-family:Georgia,serif;margin:0}\n.site-header{background:url(/static/header-bg.jpg)}\n"
        js = (
            "document.addEventListener('DOMContentLoaded',function(){\n"
            "  var promo=document.getElementById('promo');\n"
            "  if(promo){promo.innerHTML="
            "'<img src=\"/promo/spring.jpg\" alt=\"Spring sale banner with tulips in a vase\">';}\n"
            "});\n"
        )
        api = {"products": [{"id": 17, "name": "Wool scarf", "image": "/media/p17.jpg",
                             "html": "<img src=\"/media/p17.jpg\" alt=\"A navy wool scarf folded on a chair\">"}]}
        robots = "User-agent: *\nDisallow: /cart/\nSitemap: " + root + "/sitemap.xml\n"
        bodies = [
            (f"{root}/static/site.css", "text/css", css),
            (f"{root}/static/app.js", "application/javascript", js),
            (f"{root}/api/products.json", "application/json", json.dumps(api, indent=1)),
            (f"{root}/robots.txt", "text/plain", robots),
        ]
        return [_Resource(url, ctype, body.encode("utf-8"), k % self.n_files)
                for k, (url, ctype, body) in enumerate(bodies)]


# ----------------------------------------------------------------------------- WARC writing


class _WarcFileWriter:
    """Writes one WARC file the way Common Crawl lays it out, with dates and record ids from the seed."""

    def __init__(self, stream: io.BufferedIOBase, filename: str, seed: int, index: int, n_captures: int) -> None:
        self.writer = WARCWriter(stream, gzip=True, warc_version="1.0")
        self.ids = random.Random(f"ccpairs-sample:{seed}:ids:{index}")
        self.step = CRAWL_SECONDS / max(1, n_captures + 1)
        self.captures = 0
        self.counts: Counter = Counter()
        self.warcinfo_id = self._record_id()
        info = (
            f"isPartOf: {CRAWL}\r\npublisher: ccpairs sample generator (synthetic data)\r\n"
            "description: Deterministic sample pages for offline runs of ccpairs\r\n"
            "software: ccpairs jobs.sample\r\nformat: WARC File Format 1.0\r\n"
            "conformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.0/\r\n"
        ).encode("utf-8")
        self._write("warcinfo", "", self._date(0), info, "application/warc-fields",
                    {"WARC-Filename": filename}, record_id=self.warcinfo_id)

    def _record_id(self) -> str:
        return f"<urn:uuid:{uuid.UUID(int=self.ids.getrandbits(128), version=4)}>"

    def _date(self, capture: int) -> datetime:
        return CRAWL_START + timedelta(seconds=int(capture * self.step))

    def _write(self, rec_type: str, uri: str, date: datetime, payload: bytes, content_type: str,
               extra: dict[str, str], http_headers: StatusAndHeaders | None = None,
               record_id: str | None = None) -> str:
        record_id = record_id or self._record_id()
        headers = {"WARC-Type": rec_type, "WARC-Date": date.strftime("%Y-%m-%dT%H:%M:%SZ"),
                   "WARC-Record-ID": record_id, "Content-Length": "0", "Content-Type": content_type}
        if rec_type != "warcinfo":
            headers["WARC-Warcinfo-ID"] = self.warcinfo_id
        headers.update(extra)
        record = self.writer.create_warc_record(
            uri, rec_type, payload=io.BytesIO(payload), length=len(payload),
            warc_content_type=content_type, warc_headers_dict=headers, http_headers=http_headers)
        self.writer.write_record(record)
        self.counts[rec_type] += 1
        return record_id

    def capture(self, url: str, status: int, content_type: str, body: bytes, metadata: str) -> tuple[str, datetime]:
        """request + response + metadata for one fetch, as Common Crawl writes them."""
        self.captures += 1
        date = self._date(self.captures)
        parts = urlsplit(url)
        ip = _ip_for(parts.hostname or "")
        request = StatusAndHeaders(f"GET {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1", [
            ("User-Agent", "CCBot/2.0 (https://commoncrawl.org/faq/)"),
            ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            ("Accept-Language", "en-US,en;q=0.5"),
            ("Accept-Encoding", "br,gzip"),
            ("Host", parts.netloc),
            ("Connection", "Keep-Alive"),
        ], is_http_request=True)
        request_id = self._write("request", url, date, b"", "application/http; msgtype=request",
                                 {"WARC-IP-Address": ip}, request)
        response_id = self._write("response", url, date, body, "application/http; msgtype=response",
                                  {"WARC-Concurrent-To": request_id, "WARC-IP-Address": ip},
                                  _response_headers(status, content_type, body, date))
        self._write("metadata", url, date, metadata.encode("utf-8"), "application/warc-fields",
                    {"WARC-Concurrent-To": response_id})
        return response_id, date

    def revisit(self, url: str, original_id: str, original_date: datetime, content_type: str, body: bytes) -> None:
        """A later capture of an unchanged page: headers only, pointing at the original by digest."""
        self.captures += 1
        date = self._date(self.captures)
        digest = "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")
        headers = _response_headers(200, content_type, body, date)
        extra = {"WARC-IP-Address": _ip_for(urlsplit(url).hostname or ""),
                 "WARC-Profile": "http://netpreserve.org/warc/1.0/revisit/identical-payload-digest",
                 "WARC-Refers-To": original_id, "WARC-Refers-To-Target-URI": url,
                 "WARC-Refers-To-Date": original_date.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "WARC-Payload-Digest": digest}
        self._write("revisit", url, date, b"", "application/http; msgtype=response", extra, headers)


def _ip_for(host: str) -> str:
    """A stable documentation-range address (RFC 5737) per host."""
    crc = zlib.crc32(host.encode("utf-8"))
    return f"{('192.0.2', '198.51.100', '203.0.113')[crc % 3]}.{crc // 3 % 254 + 1}"


def _response_headers(status: int, content_type: str, body: bytes, date: datetime) -> StatusAndHeaders:
    reason = {200: "OK", 301: "Moved Permanently", 404: "Not Found"}[status]
    headers = [
        ("Date", format_datetime(date.replace(tzinfo=timezone.utc), usegmt=True)),
        ("Server", "nginx"),
        ("Content-Type", content_type),
    ]
    if content_type.startswith(("text/", "application/j")):
        headers.append(("X-Crawler-Content-Encoding", "gzip"))  # CC stores the decoded payload
    headers += [("Content-Length", str(len(body))), ("Connection", "keep-alive")]
    return StatusAndHeaders(f"{status} {reason}", headers, protocol="HTTP/1.1")


# ----------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class SampleInfo:
    """What `generate_sample` wrote; `expected` holds the planted facts (JSON-able)."""

    output_dir: str
    warc_paths: list[str]
    manifest_path: str
    pages: int
    image_records: int
    expected: dict[str, Any]


def generate_sample(output_dir: str | Path, pages: int = 200, seed: int = 0, files: int = 4) -> SampleInfo:
    """Write `files` WARC files with `pages` HTML pages (plus image and other records) under output_dir.

    Byte-for-byte deterministic for the same (pages, seed, files). Also writes `warc.paths.gz`
    (relative paths, like Common Crawl's manifest) and `sample-expected.json` (= `expected`).
    """
    if pages < MIN_PAGES:
        raise ValueError(f"pages must be >= {MIN_PAGES}, got {pages}")
    if not 1 <= files <= 99_999:
        raise ValueError(f"files must be between 1 and 99999, got {files}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    builder = _SampleBuilder(pages, seed, files)
    builder.plan()
    builder.render()
    resources = builder.resources()

    # what each file holds, in crawl order: a page, then the images it showed first; resource k after page k
    records_by_page: dict[int, list[_ImageRecord]] = {}
    for record in builder.records.values():
        records_by_page.setdefault(record.first_page, []).append(record)
    captures: list[list[tuple[str, Any]]] = [[] for _ in range(files)]
    for page in builder.pages:
        captures[page.file].append(("page", page))
        for record in records_by_page.get(page.index, []):
            for index in record.files:
                captures[index].append(("image", record))
        if page.index < len(resources):
            captures[resources[page.index].file].append(("resource", resources[page.index]))

    root = Path(output_dir)
    (root / WARC_DIR).mkdir(parents=True, exist_ok=True)
    relative_paths: list[str] = []
    record_counts: Counter = Counter()
    revisit_of = builder.pages[0]
    original: tuple[str, datetime] | None = None
    for index in range(files):
        relative = f"{WARC_DIR}/{WARC_NAME.format(index=index)}"
        relative_paths.append(relative)
        is_last = index == files - 1
        with open(root / relative, "wb") as stream:
            warc = _WarcFileWriter(stream, posixpath.basename(relative), seed, index,
                                   len(captures[index]) + int(is_last))
            for what, obj in captures[index]:
                if what == "page":
                    charset = "ISO-8859-1" if obj.kind == "latin1" else "UTF-8"
                    ids = warc.capture(obj.url, obj.status, obj.content_type, obj.body,
                                       f"fetchTimeMs: {120 + obj.index % 400}\r\ncharset-detected: {charset}\r\n")
                    if obj is revisit_of:
                        original = ids
                elif what == "image":
                    warc.capture(obj.url, 200, obj.content_type, obj.spec.render(),
                                 f"fetchTimeMs: {40 + zlib.crc32(obj.url.encode()) % 300}\r\n")
                else:
                    warc.capture(obj.url, 200, obj.content_type, obj.body, "fetchTimeMs: 35\r\n")
            if is_last and original is not None:
                warc.revisit(revisit_of.url, original[0], original[1], revisit_of.content_type, revisit_of.body)
            record_counts.update(warc.counts)

    manifest = root / MANIFEST_NAME
    manifest.write_bytes(gzip.compress(("\n".join(relative_paths) + "\n").encode("utf-8"), mtime=0))
    image_records = sum(len(r.files) for r in builder.records.values())
    expected = _expected(builder, resources, record_counts, image_records)
    (root / EXPECTED_NAME).write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return SampleInfo(
        output_dir=str(root),
        warc_paths=[str(root / p) for p in relative_paths],
        manifest_path=str(manifest),
        pages=pages,
        image_records=image_records,
        expected=expected,
    )


def _expected(builder: _SampleBuilder, resources: list[_Resource], record_counts: Counter,
              image_records: int) -> dict[str, Any]:
    position = {page.url: (page.file, page.index) for page in builder.pages}
    pairs = sorted(builder.pairs, key=lambda p: position[p["page_url"]])  # stable: document order kept
    categories = Counter(p["category"] for p in pairs)
    captions = [p for p in pairs if p["category"] == "caption"]
    records = builder.records.values()
    facts = builder.facts
    return {
        "seed": builder.seed,
        "pages": builder.n_pages,
        "files": builder.n_files,
        "crawl": CRAWL,
        "records": dict(sorted(record_counts.items())),
        "responses": {
            "html": len(builder.pages),
            "http_error_pages": sorted(p.url for p in builder.pages if p.status != 200),
            "no_pair_pages": sorted(p.url for p in builder.pages if p.kind in ("no_images", "no_usable_alts")),
            "non_html": len(resources),
            "image": image_records,
        },
        "extract": {
            "pairs": len(pairs),
            "pages_with_pairs": len({p["page_url"] for p in pairs}),
            "in_page_duplicates": builder.in_page_duplicates,
            "unusable_src": builder.unusable_src,
        },
        "text": {name: categories.get(name, 0) for name in TEXT_CATEGORIES},
        "text_kept": len(captions),
        "boilerplate": {phrase: sum(p["text"] == phrase for p in pairs) for phrase in BOILERPLATE_ALTS},
        "nsfw_words": list(NSFW_WORDS),
        "images": {
            "records": image_records,
            "distinct_urls": len(builder.records),
            "caption_pairs_with_record": sum(p["image"] != "missing" for p in captions),
            "caption_pairs_missing": sum(p["image"] == "missing" for p in captions),
            "caption_pairs_image_ok": sum(p["image"] in ("ok",) + TRICKY_IMAGES for p in captions),
            "missing_host": MISSING_HOST,
            "formats": dict(sorted(Counter(r.content_type for r in records).items())),
            "planted": {r.status: r.url for r in records if r.status in IMAGE_FAILURES + TRICKY_IMAGES},
            "cross_file_records": builder.cross_file_records,
            "duplicate_bytes_urls": facts["duplicate_bytes_urls"]["urls"],
            "phash_text_duplicate": facts["phash_text_duplicate"],
            "same_pair_on_two_pages": facts["same_pair_on_two_pages"],
            "duplicate_record_url": facts["duplicate_record_url"],
            "url_key_variant": facts["url_key_variant"],
        },
        "pairs": [[p["page_url"], p["url"], p["text"], p["category"], p["image"]] for p in pairs],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ccpairs sample", description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True, help="folder to write crawl-data/... and warc.paths.gz into")
    parser.add_argument("--pages", type=int, default=200, help=f"HTML pages (>= {MIN_PAGES})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--files", type=int, default=4, help="number of WARC files")
    args = parser.parse_args(argv)
    if args.pages < MIN_PAGES or not 1 <= args.files <= 99_999 or args.seed < 0:
        parser.error(f"need --pages >= {MIN_PAGES}, 1 <= --files <= 99999, --seed >= 0")
    info = generate_sample(args.output, pages=args.pages, seed=args.seed, files=args.files)
    summary = {"manifest": info.manifest_path, "warc_paths": info.warc_paths, "pages": info.pages,
               "image_records": info.image_records, "pairs": info.expected["extract"]["pairs"],
               "text_kept": info.expected["text_kept"]}
    json.dump(summary, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
