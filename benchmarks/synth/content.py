"""What the generated markings say: serial formats, makers, models, calibres, countries,
import marks, proof and date marks, evidence labels and headstamps (see shared DOMAIN.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Rng = np.random.Generator

LATIN = "ABCDEFGHJKLMNPRSTUVWXYZ"  # I, O and Q are rare in serials: they look like 1 and 0
LATIN_ALL = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CYRILLIC_SERIAL = "АБВГДЕЖЗИКЛМНПРСТУФХЦЧШ"
DIGITS = "0123456789"


@dataclass(frozen=True, slots=True)
class Line:
    text: str
    kind: str  # serial maker model calibre country importer proof date label other


def _pick(rng: Rng, items: tuple[str, ...] | list[str]) -> str:
    return items[int(rng.integers(len(items)))]


def _chars(rng: Rng, alphabet: str, n: int) -> str:
    return "".join(alphabet[int(i)] for i in rng.integers(0, len(alphabet), n))


def _digits(rng: Rng, n: int, lead_zero: bool = True) -> str:
    s = _chars(rng, DIGITS, n)
    if not lead_zero and s[0] == "0":
        s = str(int(rng.integers(1, 10))) + s[1:]
    return s


# --- serial numbers -----------------------------------------------------------------------------
SERIAL_FORMATS = (
    "digits",  # 1234567 (Zastava style plain numbers)
    "two_letters_us",  # AB123US (early Glock US imports)
    "four_letters_three",  # ABCD123 (later Glock)
    "letter_prefix",  # K123456
    "letter_suffix",  # 123456A
    "prefix_suffix",  # A12345B
    "licence_prefix",  # 98765432-12345 (27 CFR 478.92 licence prefix and hyphen)
    "year_prefix",  # 91-12345
    "spaced_prefix",  # BA 123456
    "cyrillic_prefix",  # АБ 1234 (Soviet / Yugoslav style)
    "letters_embedded",  # 369J257 (letters between digits)
    "short",  # 12345
)


def serial(rng: Rng, fmt: str | None = None) -> str:
    fmt = fmt or _pick(rng, SERIAL_FORMATS)
    if fmt == "digits":
        return _digits(rng, int(rng.integers(5, 9)), lead_zero=False)
    if fmt == "two_letters_us":
        return _chars(rng, LATIN, 2) + _digits(rng, 3) + "US"
    if fmt == "four_letters_three":
        return _chars(rng, LATIN, 4) + _digits(rng, 3)
    if fmt == "letter_prefix":
        return _chars(rng, LATIN, int(rng.integers(1, 3))) + _digits(rng, int(rng.integers(4, 8)))
    if fmt == "letter_suffix":
        return _digits(rng, int(rng.integers(4, 8)), lead_zero=False) + _chars(rng, LATIN, 1)
    if fmt == "prefix_suffix":
        return _chars(rng, LATIN, 1) + _digits(rng, int(rng.integers(4, 7))) + _chars(rng, LATIN, 1)
    if fmt == "licence_prefix":
        return _digits(rng, int(rng.integers(5, 9)), lead_zero=False) + "-" + _digits(rng, 5)
    if fmt == "year_prefix":
        return _digits(rng, 2) + "-" + _digits(rng, int(rng.integers(4, 7)))
    if fmt == "spaced_prefix":
        return _chars(rng, LATIN, 2) + " " + _digits(rng, int(rng.integers(4, 7)))
    if fmt == "cyrillic_prefix":
        return _chars(rng, CYRILLIC_SERIAL, 2) + " " + _digits(rng, int(rng.integers(3, 7)))
    if fmt == "letters_embedded":
        return _digits(rng, 3, lead_zero=False) + _chars(rng, LATIN, 1) + _digits(rng, 3)
    if fmt == "short":
        return _digits(rng, 5, lead_zero=False)
    raise ValueError(f"unknown serial format {fmt!r}")


# --- makers, models, calibres, countries, importers ----------------------------------------------
MAKERS = (
    "ZASTAVA ARMS", "ZASTAVA KRAGUJEVAC", "CRVENA ZASTAVA", "ZAVOD CRVENA ZASTAVA", "GLOCK",
    "BERETTA", "P. BERETTA GARDONE V.T.", "CZ UHERSKY BROD", "CESKA ZBROJOVKA", "WALTHER",
    "CARL WALTHER ULM", "FN HERSTAL", "SIG SAUER", "HECKLER & KOCH", "IZHMASH", "TULA ARMS",
    "ARSENAL AD", "FEG HUNGARY", "NORINCO", "HS PRODUKT", "RADOM", "STEYR MANNLICHER", "ARMSCOR",
    "SMITH & WESSON", "COLT'S MFG CO", "RUGER", "TOKAREV", "MAUSER OBERNDORF", "ZBROJOVKA BRNO",
)
MAKERS_CYRILLIC = (
    "ЦРВЕНА ЗАСТАВА", "ЗАВОД ЦРВЕНА ЗАСТАВА", "ЗАСТАВА КРАГУЈЕВАЦ", "ИЖМАШ", "ТОЗ", "ИЖ",
    "ПРВИ ПАРТИЗАН", "ППУ", "КРАГУЈЕВАЦ",
)
MODELS = (
    "M70 AB2", "M70B1", "M57", "M88A", "M59/66", "M76", "M92 PAP", "M84", "CZ 75 B", "CZ 83",
    "MOD. 92FS", "PX4 STORM", "P226", "P99", "PPK/S", "TT-33", "MOD. 1911A1", "G17 GEN4", "G19",
    "VZ. 58", "VZ. 61", "AKM", "SKS-45", "PM 63", "FAL", "M2010", "PA-63", "HS 2000", "PPS-43",
    "MP-40", "M48", "MODEL 10", "CZ 99", "P-83", "MOD. 84F",
)
MODELS_CYRILLIC = ("М70 АБ2", "М57", "ПМ", "ТТ", "АКМ", "СКС", "М84", "М76", "ПП-91")
CALIBRES = (
    "9x19", "9 MM LUGER", "9mm Para", "9 mm P.", "CAL. 9 mm", "7.62x39", "7,62 x 39", "7.62x54R",
    "7,62 mm", ".45 ACP", "CAL .45 AUTO", ".22 LR", "CAL. .22 L.R.", "5.56 NATO", "5.56x45",
    ".223 REM", "12/70", "12 GA", "CAL 12", "7.65 mm", "7,65", "7.65 BR.", "6.35 mm", ".380 ACP",
    "9 KRATAK", ".40 S&W", "10mm AUTO", "8x57 IS", "7.92", ".308 WIN", "CAL. 7.62", "9x18",
)
CALIBRES_CYRILLIC = ("КАЛ. 7,62", "КАЛИБАР 9 ММ", "9-Д", "7,62 ММ", "КАЛ. 7,65")
COUNTRIES = (
    "MADE IN SERBIA", "MADE IN YUGOSLAVIA", "MADE IN CZECH REPUBLIC", "MADE IN ITALY",
    "MADE IN AUSTRIA", "MADE IN GERMANY", "MADE IN BELGIUM", "MADE IN CROATIA", "MADE IN U.S.A.",
    "MADE IN HUNGARY", "MADE IN CHINA", "MADE IN RUSSIA", "Made in Germany", "SERBIA",
    "YUGOSLAVIA", "JUGOSLAVIJA", "CZECHOSLOVAKIA", "AUSTRIA", "ITALY", "BOSNIA-HERZEGOVINA",
    "MADE IN BULGARIA", "MADE IN ROMANIA",
)
COUNTRIES_CYRILLIC = ("СРБИЈА", "ЈУГОСЛАВИЈА", "СССР", "ПРОИЗВЕДЕНО У СРБИЈИ", "РОССИЯ")
IMPORTERS = (
    "CAI GEORGIA VT", "CAI ST. ALBANS VT", "IMP BY CENTURY ARMS", "I.A.C. HIALEAH FL",
    "ZASTAVA USA", "IMP. BY K-VAR LV NV", "EAA CORP. ROCKLEDGE FL", "IMP: IMPORTER-X SA",
    "IMPORTED BY ATI GALENA OH", "IMP BY PW ARMS", "IMPORT ZAGREB HR",
)
PROOFS = ("CIP", "BCP", "GP", "N", "PT", "PSR", "BNP", "FMU", "AZ", "CS", "XXV", "XXII", "XVIII")
ROMAN = (
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIV", "XIX",
    "XX", "XXI", "XXIV", "XXVIII",
)
LABEL_PREFIXES = (
    "EVIDENCE", "EVIDENCE NO.", "CASE NO.", "EXHIBIT", "ITEM", "DOKAZ BR.", "PREDMET", "KU",
    "ПРЕДМЕТ", "ДОКАЗ БР.", "LAB NO.", "BAG",
)
SERBIAN_WORDS = (
    "FABRIČKI BROJ", "ФАБРИЧКИ БРОЈ", "KALIBAR", "КАЛИБАР", "ПРОИЗВОЂАЧ", "BEZ OZNAKE",
    "ЗЕМЉА ПОРЕКЛА", "ОСИГУРАЧ", "ПАЉБА",
)
HEADSTAMP_MAKERS = (
    "ППУ", "PPU", "LC", "CBC", "IMI", "WIN", "R-P", "FC", "S&B", "IK", "GFL", "MKE", "PMC",
    "HP", "TZZ", "WMA", "ИК", "АМ", "MEN", "FNB", "RG", "SB",
)
HEADSTAMP_CALIBRES = (
    "9-Д", "9mm", "9x19", "5.56", ".223", "7.62", "7.62x39", "9mm LUGER", ".45 AUTO", ".380",
    "7.65", "308", "12", "7,62", "9 K",
)


def year(rng: Rng, short: bool = False, first: int = 1948, last: int = 2025) -> str:
    y = int(rng.integers(first, last + 1))
    return f"{y % 100:02d}" if short else str(y)


def date_mark(rng: Rng) -> str:
    r = rng.random()
    if r < 0.4:
        return year(rng)
    if r < 0.6:
        return f"{int(rng.integers(1, 13)):02d}/{year(rng, short=True)}"
    if r < 0.8:
        return f"{_pick(rng, ROMAN)} {year(rng)}"
    return f"{_pick(rng, ROMAN)}-{year(rng, short=True)}"


def firearm_lines(rng: Rng, serial_p: float = 0.92, cyrillic_p: float = 0.15) -> list[Line]:
    """Lines of a frame, slide, receiver or barrel marking, in a plausible order."""
    cyr = rng.random() < cyrillic_p
    lines: list[Line] = []
    if rng.random() < 0.6:
        lines.append(Line(_pick(rng, MAKERS_CYRILLIC if cyr else MAKERS), "maker"))
    if rng.random() < 0.5:
        lines.append(Line(_pick(rng, MODELS_CYRILLIC if cyr else MODELS), "model"))
    if rng.random() < 0.45:
        lines.append(Line(_pick(rng, CALIBRES_CYRILLIC if cyr else CALIBRES), "calibre"))
    if rng.random() < 0.35:
        lines.append(Line(_pick(rng, COUNTRIES_CYRILLIC if cyr else COUNTRIES), "country"))
    if not cyr and rng.random() < 0.12:
        lines.append(Line(_pick(rng, IMPORTERS), "importer"))
    if rng.random() < 0.12:
        lines.append(Line(_pick(rng, PROOFS), "proof"))
    if rng.random() < 0.15:
        lines.append(Line(date_mark(rng), "date"))
    if rng.random() < 0.05:
        lines.append(Line(_pick(rng, SERBIAN_WORDS), "other"))
    if rng.random() < serial_p or not lines:
        fmt = "cyrillic_prefix" if cyr and rng.random() < 0.5 else None
        s = Line(serial(rng, fmt), "serial")
        # the serial is usually on its own, first or last
        if rng.random() < 0.5:
            lines.insert(0, s)
        else:
            lines.append(s)
    max_lines = int(rng.integers(1, 5))
    if len(lines) > max_lines:
        keep = sorted(rng.choice(len(lines), size=max_lines, replace=False).tolist())
        serials = [i for i, ln in enumerate(lines) if ln.kind == "serial"]
        if serials and serials[0] not in keep:
            keep[int(rng.integers(len(keep)))] = serials[0]
            keep = sorted(set(keep))
        lines = [lines[i] for i in keep]
    return lines


def dot_peen_lines(rng: Rng) -> list[Line]:
    """Dot peen is used for serials, dates and import marks, seldom for names."""
    lines = [Line(serial(rng), "serial")]
    r = rng.random()
    if r < 0.25:
        lines.append(Line(date_mark(rng), "date"))
    elif r < 0.45:
        lines.insert(0, Line(_pick(rng, IMPORTERS), "importer"))
    elif r < 0.6:
        lines.append(Line(_pick(rng, COUNTRIES), "country"))
    return lines


def moulded_lines(rng: Rng) -> list[Line]:
    """Letters moulded into a polymer frame or grip."""
    choices = [
        Line(_pick(rng, MAKERS), "maker"),
        Line(_pick(rng, MODELS), "model"),
        Line(_pick(rng, COUNTRIES), "country"),
        Line(_pick(rng, CALIBRES), "calibre"),
        Line(_pick(rng, MAKERS_CYRILLIC), "maker"),
        Line(serial(rng, "digits"), "serial"),
        Line(_pick(rng, ROMAN), "other"),
    ]
    weights = np.array([0.25, 0.2, 0.2, 0.15, 0.05, 0.1, 0.05])
    n = int(rng.integers(1, 4))
    idx = rng.choice(len(choices), size=n, replace=False, p=weights / weights.sum())
    return [choices[int(i)] for i in sorted(idx)]


def evidence_label_lines(rng: Rng) -> list[Line]:
    """An evidence tag: numbers that are *not* serials (kind label)."""
    prefix = _pick(rng, LABEL_PREFIXES)
    r = rng.random()
    if r < 0.4:
        number = f"{year(rng, short=True, first=1995, last=2026)}-{_digits(rng, int(rng.integers(3, 6)))}"
    elif r < 0.7:
        item = _digits(rng, int(rng.integers(1, 4)), lead_zero=False)
        number = f"{item}/{year(rng, short=True, first=1995, last=2026)}"
    else:
        number = _digits(rng, int(rng.integers(1, 7)), lead_zero=False)
    lines = [Line(f"{prefix} {number}", "label")]
    if rng.random() < 0.4:
        day = f"{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d}"
        lines.append(Line(f"{year(rng, first=1995, last=2026)}-{day}", "date"))
    return lines


def data_plate_lines(rng: Rng) -> list[Line]:
    """A printed sticker or plate: maker, model, serial, calibre."""
    lines = [Line(_pick(rng, MAKERS), "maker")]
    if rng.random() < 0.7:
        lines.append(Line(_pick(rng, MODELS), "model"))
    lines.append(Line(serial(rng), "serial"))
    if rng.random() < 0.5:
        lines.append(Line(_pick(rng, CALIBRES), "calibre"))
    return lines


def headstamp_tokens(rng: Rng) -> list[Line]:
    """Tokens stamped around a cartridge head: maker code, calibre and/or a year."""
    tokens = [Line(_pick(rng, HEADSTAMP_MAKERS), "maker")]
    r = rng.random()
    if r < 0.45:
        tokens.append(Line(_pick(rng, HEADSTAMP_CALIBRES), "calibre"))
        if rng.random() < 0.5:
            tokens.append(Line(year(rng, short=True), "date"))
    elif r < 0.9:
        tokens.append(Line(year(rng, short=True), "date"))
    if rng.random() < 0.15 and len(tokens) < 3:
        tokens.append(Line(_pick(rng, ROMAN[:10]), "other"))
    return tokens
