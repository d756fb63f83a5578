"""Training lines for the markings recogniser, drawn with the benchmark's synthetic generator.

Each sample is one text line cut as the pipeline cuts it (a loose box around the line, scaled
to the recogniser's 48 px height) with its exact text. Two sources:

- *plate lines* (most of the data, fast): one line rendered with the generator's fonts and
  marking methods (stamped, engraved, laser, dot peen, moulded, printed, headstamp tokens on
  brass) on its surfaces, lit from a side, with wide letter spacing, bent baselines (circular
  text unrolled with some curvature left), small rotation and perspective, uneven light, glare,
  blur, noise, low resolution and JPEG;
- *scene lines*: whole synthetic photos (``generate_sample``) with each truth line cut from
  its quadrilateral, widened a little at random as a detector's box would be.

Texts: markings from ``benchmarks.synth.content`` (serials incl. Cyrillic prefixes, makers,
models, calibres, countries, importers, proof and date marks, labels, headstamp codes, Serbian
words, Cyrillic makers and words), general text in both scripts and cases, and random strings
over every kept character so that none is forgotten. Dot-peen lines are upper case (the
generator's 5x7 matrix has capitals only).

Seeds: sample ``i`` of a split uses ``SeedSequence([split_seed, i])``, with split seeds far
from the benchmark's (``2026 * 1_000_000 + i``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from benchmarks.synth import content, render
from benchmarks.synth.scene import GROUP_SURFACES, Spec, _style_for, generate_sample
from benchmarks.synth.surfaces import make_surface
from models.training.charset import MARKING_CHARS

Rng = np.random.Generator
F32 = np.float32
HEIGHT = 48
MAX_WIDTH = 800  # widest training line at 48 px (longer texts are shortened)

# --- texts ----------------------------------------------------------------------------------------
GENERAL_LATIN = (
    "serial number made in the factory of arms and ammunition, calibre model type year batch "
    "pistol rifle revolver carbine shotgun barrel frame slide receiver bolt magazine safety fire "
    "proof tested importer country origin police evidence exhibit laboratory case item bag "
    "registered owner licence permit number date seized returned destroyed checked found "
    "Kragujevac Beograd Novi Sad Sarajevo Zagreb Skopje Podgorica Tirana Ljubljana Banja Luka "
    "puška pištolj revolver karabin cev okvir zatvarač broj godina tvornica fabrika oružje "
    "municija kalibar model proizvođač zemlja porekla vlasnik dozvola oduzeto predmet dokaz "
    "Čačak Niš Šabac Užice Đakovica Žepče Ćuprija Bečej Vršac Sremska Mitrovica"
)
GENERAL_CYRILLIC = (
    "пушка пиштољ револвер карабин цев оквир затварач број година фабрика оружје муниција "
    "калибар модел произвођач земља порекла власник дозвола одузето предмет доказ серијски "
    "Крагујевац Београд Нови Сад Ужице Чачак Ниш Шабац Ваљево Панчево Зрењанин Лесковац "
    "пистолет винтовка автомат карабин патрон ствол затвор магазин предохранитель завод "
    "Ижевск Тула Москва Киев Минск София Скопје Љубљана Сделано в СССР Россия Калашников "
    "Макаров Драгунов Симонов Токарев объект экспорт юбилей щит йод съезд эталон ёж "
    "Україна зброя їжак європа ґанок Беларусь ўзор Ѓорѓи Ќерка ѕвезда індекс Ѐ"
)
PUNCT_SNIPPETS = (
    "No. {d}", "№ {d}", "#{d}", "({d})", "{d}/{y}", "{d}-{y}", "{d}.{y}", "{d},{y}", "{d}:{y}",
    "{d}; {y}", "'{y}", '"{w}"', "{w} & {w}", "+P", "+P+", "{d}°", "{d}×{y}", "{d}*", "{w}_{d}",
    "CAL. {d}", "{w}, {w}", "{w}: {d}", "{w}.", "A.{d}", "{d}x{y}", "{w}-{d}",
)


def _pick(rng: Rng, items: tuple[str, ...] | list[str]) -> str:
    return items[int(rng.integers(len(items)))]


_LATIN_WORDS = tuple(w.strip(",") for w in GENERAL_LATIN.split())
_CYR_WORDS = tuple(w for w in GENERAL_CYRILLIC.split() if all(c in MARKING_CHARS for c in w))


def _case(rng: Rng, text: str) -> str:
    r = rng.random()
    if r < 0.4:
        return text.upper()
    if r < 0.7:
        return text.lower()
    return text.title() if r < 0.9 else text


def _digits(rng: Rng, lo: int = 1, hi: int = 6) -> str:
    return "".join(str(int(d)) for d in rng.integers(0, 10, int(rng.integers(lo, hi + 1))))


def general_text(rng: Rng) -> str:
    words = _CYR_WORDS if rng.random() < 0.45 else _LATIN_WORDS
    n = int(rng.integers(1, 5))
    text = " ".join(_pick(rng, words) for _ in range(n))
    text = _case(rng, text)
    if rng.random() < 0.5:
        snippet = _pick(rng, PUNCT_SNIPPETS).format(
            d=_digits(rng), y=_digits(rng, 2, 2), w=_case(rng, _pick(rng, words))
        )
        text = f"{text} {snippet}" if rng.random() < 0.5 else f"{snippet} {text}"
    return text


def random_string(rng: Rng) -> str:
    """Characters drawn evenly from the whole kept set (rare letters and punctuation included)."""
    n = int(rng.integers(3, 13))
    chars = [MARKING_CHARS[int(i)] for i in rng.integers(0, len(MARKING_CHARS), n)]
    for i in range(1, n - 1):
        if rng.random() < 0.12:
            chars[i] = " "
    return "".join(chars).strip() or "0"


def marking_text(rng: Rng) -> str:
    r = rng.random()
    if r < 0.3:
        fmt = "cyrillic_prefix" if rng.random() < 0.25 else None
        return content.serial(rng, fmt)
    if r < 0.6:
        lines = content.firearm_lines(rng, serial_p=0.5, cyrillic_p=0.35)
        return _pick(rng, [ln.text for ln in lines])
    if r < 0.7:
        return _pick(rng, [ln.text for ln in content.evidence_label_lines(rng)])
    if r < 0.78:
        return _pick(rng, [ln.text for ln in content.data_plate_lines(rng)])
    if r < 0.86:
        pools = (content.MAKERS_CYRILLIC, content.MODELS_CYRILLIC, content.CALIBRES_CYRILLIC,
                 content.COUNTRIES_CYRILLIC, content.SERBIAN_WORDS)
        return _pick(rng, pools[int(rng.integers(len(pools)))])
    if r < 0.93:
        return content.date_mark(rng)
    return _pick(rng, content.PROOFS + content.ROMAN)


def headstamp_text(rng: Rng) -> str:
    tokens = [ln.text for ln in content.headstamp_tokens(rng)]
    if rng.random() < 0.5:
        return _pick(rng, tokens)
    return " ".join(tokens)


@dataclass(frozen=True, slots=True)
class LineSample:
    image: np.ndarray  # 48 x W x 3 uint8, BGR
    text: str
    group: str
    source: str  # marking | general | random | headstamp | scene


# --- plate lines ------------------------------------------------------------------------------------
GROUP_WEIGHTS = {
    "stamped": 0.2, "engraved": 0.16, "dot-peen": 0.17, "laser": 0.13, "moulded": 0.08, "printed": 0.12,
    "headstamp": 0.14,
}


def _choose_group(rng: Rng) -> str:
    names = list(GROUP_WEIGHTS)
    p = np.array([GROUP_WEIGHTS[n] for n in names])
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _text_for(group: str, rng: Rng) -> tuple[str, str]:
    if group == "headstamp" and rng.random() < 0.7:
        return headstamp_text(rng), "headstamp"
    r = rng.random()
    if r < 0.55:
        return marking_text(rng), "marking"
    if r < 0.82:
        return general_text(rng), "general"
    return random_string(rng), "random"


def _clean(text: str) -> str:
    text = " ".join(text.split())
    return "".join(c for c in text if c in MARKING_CHARS or c == " ")


def _bend(img: np.ndarray, rng: Rng, amount: float) -> np.ndarray:
    """Bend the baseline into an arc (``amount`` = sag at the ends, fraction of the height)."""
    h, w = img.shape[:2]
    xs = np.arange(w, dtype=F32)
    sag = amount * h * ((xs - w / 2) / max(1.0, w / 2)) ** 2
    if rng.random() < 0.5:
        sag = -sag
    sag -= sag.mean()
    mx = np.tile(xs, (h, 1))
    my = np.arange(h, dtype=F32)[:, None] + sag[None, :]
    out: np.ndarray = cv2.remap(img, mx, my.astype(F32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return out


def _warp(img: np.ndarray, rng: Rng, size: int) -> np.ndarray:
    """Small rotation and perspective, as a rectified detector quad leaves them."""
    h, w = img.shape[:2]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], F32)
    j = float(rng.uniform(0.0, 0.08)) * h
    dst = src + rng.uniform(-j, j, (4, 2)).astype(F32)
    ang = math.radians(float(rng.normal(0, 1.2)))
    c = dst.mean(axis=0)
    rot = np.array([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]], F32)
    dst = (dst - c) @ rot.T + c
    m = cv2.getPerspectiveTransform(src, dst.astype(F32))
    out: np.ndarray = cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return out


def _degrade(img: np.ndarray, rng: Rng) -> np.ndarray:
    """Uneven light, glare, blur, noise (float RGB 0..1 in, float out)."""
    h, w = img.shape[:2]
    gx = np.linspace(-1, 1, w, dtype=F32)[None, :]
    gy = np.linspace(-1, 1, h, dtype=F32)[:, None]
    gain = 1 + float(rng.uniform(-0.3, 0.3)) * gx + float(rng.uniform(-0.2, 0.2)) * gy
    img = img * gain[..., None]
    if rng.random() < 0.2:
        x0 = float(rng.uniform(-1, 1))
        width = float(rng.uniform(0.05, 0.4))
        img = img + float(rng.uniform(0.2, 0.8)) * np.exp(-(((gx - x0) / width) ** 2))[..., None]
    r = rng.random()
    if r < 0.3:
        img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.5, 1.8)))
    elif r < 0.4:
        n = int(rng.integers(3, 8))
        k = np.zeros((n, n), F32)
        k[n // 2, :] = 1.0 / n
        m = cv2.getRotationMatrix2D((n / 2 - 0.5, n / 2 - 0.5), float(rng.uniform(0, 180)), 1.0)
        k = np.asarray(cv2.warpAffine(k, m, (n, n)), F32)
        img = cv2.filter2D(img, -1, k / max(1e-6, float(k.sum())))
    sigma = float(rng.uniform(0.004, 0.035))
    img = img + rng.standard_normal(img.shape[:2]).astype(F32)[..., None] * sigma
    return np.asarray(img, F32)


def to_model_height(bgr: np.ndarray) -> np.ndarray:
    """Scale to 48 px high as the recogniser does at run time (area when shrinking, bilinear when
    enlarging), keeping the aspect ratio; at most :data:`MAX_WIDTH` wide."""
    h, w = bgr.shape[:2]
    width = max(8, min(MAX_WIDTH, math.ceil(HEIGHT * w / max(h, 1))))
    interp = cv2.INTER_AREA if h > HEIGHT else cv2.INTER_LINEAR
    out: np.ndarray = cv2.resize(bgr, (width, HEIGHT), interpolation=interp)
    return out


def _jpeg(rgb8: np.ndarray, rng: Rng) -> np.ndarray:
    bgr = cv2.cvtColor(rgb8, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(45, 96))])
    if not ok:
        return bgr
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return bgr if decoded is None else np.asarray(decoded)


def plate_line(rng: Rng) -> LineSample:
    group = _choose_group(rng)
    text, source = _text_for(group, rng)
    if group == "dot-peen":
        text = text.upper()
    text = _clean(text)
    if not text.strip():
        text = content.serial(rng)
    method = "stamped" if group == "headstamp" else group
    surface = "brass" if group == "headstamp" else _pick(rng, GROUP_SURFACES[group])
    size = int(rng.uniform(18, 52))
    style = _style_for(method, text.isascii(), size, rng)
    if group in ("stamped", "headstamp", "dot-peen") and rng.random() < 0.35:  # wide letter spacing
        extra = float(rng.uniform(0.3, 1.0)) * size
        style = render.TextStyle(style.font, style.size, style.spacing + extra, style.kind, style.hershey,
                                 style.thickness, style.jitter, style.pad)
    mask = render.render_line(text, style, rng).mask
    mh, mw = mask.shape
    if HEIGHT * mw / mh > MAX_WIDTH:  # too long for one training line: try a shorter text
        return plate_line(rng)
    mx = int(size * float(rng.uniform(0.6, 1.6)))
    my = int(size * float(rng.uniform(0.4, 1.0)))
    ph, pw = mh + 2 * my, mw + 2 * mx
    maps = make_surface(surface, ph, pw, rng)
    full = np.zeros((ph, pw), F32)
    full[my : my + mh, mx : mx + mw] = mask
    variant = ""
    if method == "printed" and rng.random() < 0.15:
        maps.albedo *= 0.12
        variant = "white"
    render.apply_method(maps, full, method, size, rng, variant=variant)
    relief = method in ("stamped", "engraved", "dot-peen", "moulded")
    elev = math.radians(float(rng.uniform(18, 45) if relief else rng.uniform(35, 75)))
    warm = float(rng.uniform(-0.06, 0.06))
    img = render.shade(maps, float(rng.uniform(-math.pi, math.pi)), elev, float(rng.uniform(0.15, 0.35)),
                       (1 + warm, 1.0, 1 - warm))
    if group == "headstamp" or rng.random() < 0.12:
        img = _bend(img, rng, float(rng.uniform(0.05, 0.35)))
    img = _warp(img, rng, size)
    # the box a detector would give: the ink plus a random margin on each side
    ys, xs = np.nonzero(full > 0.1)
    ink_h = ys.max() - ys.min() + 1
    top = int(ys.min() - ink_h * float(rng.uniform(0.02, 0.35)))
    bottom = int(ys.max() + ink_h * float(rng.uniform(0.02, 0.35)))
    left = int(xs.min() - ink_h * float(rng.uniform(0.0, 0.6)))
    right = int(xs.max() + ink_h * float(rng.uniform(0.0, 0.6)))
    crop = img[max(0, top) : min(ph, bottom + 1), max(0, left) : min(pw, right + 1)]
    if HEIGHT * crop.shape[1] / max(1, crop.shape[0]) > MAX_WIDTH:  # would be squeezed: draw another
        return plate_line(rng)
    crop = _degrade(np.ascontiguousarray(crop), rng)
    # the resolution the camera left: text between ~10 and ~90 px high before scaling to 48
    want_h = float(rng.uniform(12, 90))
    f = want_h / crop.shape[0]
    if f < 1:
        crop = cv2.resize(crop, (max(4, round(crop.shape[1] * f)), max(4, round(want_h))),
                          interpolation=cv2.INTER_AREA)
    rgb8 = cv2.convertScaleAbs(crop, alpha=255.0)
    bgr = _jpeg(rgb8, rng)
    return LineSample(to_model_height(bgr), text, group, source)


# --- scene lines -------------------------------------------------------------------------------
def _order_quad(quad: np.ndarray) -> np.ndarray:
    return quad.astype(F32)


def scene_lines(seed: int, rng: Rng) -> list[LineSample]:
    """Every non-headstamp line of one synthetic close-up photo, cut from a widened truth quad."""
    group = _pick(rng, ("stamped", "engraved", "laser", "dot-peen", "moulded", "printed"))
    sample = generate_sample(seed, Spec(group=group, size="closeup"))
    bgr = cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR)
    out: list[LineSample] = []
    for line in sample.lines:
        text = _clean(line.text)
        if not text or any(c not in MARKING_CHARS and c != " " for c in line.text):
            continue
        q = np.array(line.quad, np.float64)
        top_w = float(np.hypot(*(q[1] - q[0])))
        left_h = float(np.hypot(*(q[3] - q[0])))
        if top_w < 4 or left_h < 4:
            continue
        u = (q[1] - q[0]) / top_w
        n = (q[3] - q[0]) / left_h
        grow_x = left_h * float(rng.uniform(-0.05, 0.3))
        grow_y = left_h * float(rng.uniform(-0.08, 0.15))
        q = q + np.array([-u * grow_x - n * grow_y, u * grow_x - n * grow_y,
                          u * grow_x + n * grow_y, -u * grow_x + n * grow_y])
        w = max(4, round(top_w + 2 * grow_x))
        h = max(4, round(left_h + 2 * grow_y))
        scale = min(1.0, 160 / h)
        ow, oh = max(2, round(w * scale)), max(2, round(h * scale))
        dst = np.array([[0, 0], [ow, 0], [ow, oh], [0, oh]], F32)
        m = cv2.getPerspectiveTransform(_order_quad(q), dst)
        crop = cv2.warpPerspective(bgr, m, (ow, oh), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
                                   borderMode=cv2.BORDER_REPLICATE)
        if HEIGHT * ow / oh > MAX_WIDTH or oh < 6:
            continue
        out.append(LineSample(to_model_height(crop), text, group, "scene"))
    return out


def generate(split_seed: int, count: int, scene_share: float = 0.06) -> Iterator[LineSample]:
    """``count`` samples of one split; deterministic for a given ``split_seed``."""
    made = 0
    i = 0
    while made < count:
        rng = np.random.default_rng(np.random.SeedSequence([split_seed, i]))
        scene = rng.random() < scene_share
        batch = scene_lines(split_seed * 100_000 + i, rng) if scene else [plate_line(rng)]
        for s in batch[: count - made]:
            yield s
            made += 1
        i += 1


# --- storage ------------------------------------------------------------------------------------------
def save(path: str, samples: list[LineSample]) -> None:
    """All lines of a split in one ``.npz``: images side by side in one 48 px strip, plus offsets."""
    import json

    widths = np.array([s.image.shape[1] for s in samples], np.int64)
    offsets = np.concatenate([[0], np.cumsum(widths)])
    strip = np.concatenate([s.image for s in samples], axis=1) if samples else np.zeros((HEIGHT, 0, 3), np.uint8)
    meta = json.dumps([[s.text, s.group, s.source] for s in samples], ensure_ascii=False)
    np.savez_compressed(path, strip=strip, offsets=offsets, meta=np.array(meta))


def load(path: str) -> list[LineSample]:
    import json

    with np.load(path) as z:
        strip, offsets, meta = z["strip"], z["offsets"], json.loads(str(z["meta"]))
    return [
        LineSample(np.ascontiguousarray(strip[:, offsets[i] : offsets[i + 1]]), t, g, src)
        for i, (t, g, src) in enumerate(meta)
    ]
