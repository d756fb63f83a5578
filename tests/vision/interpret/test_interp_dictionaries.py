"""Makers, models, countries and importers as spelled on real markings (Latin, Cyrillic, misread)."""

from __future__ import annotations

import pytest

from vision.interpret import Interpreter
from vision.types import MarkCandidate, MarkKind


def _values(marks: tuple[MarkCandidate, ...], kind: MarkKind, min_score: float = 0.5) -> list[str]:
    return [m.value for m in marks if m.kind == kind and m.score >= min_score]


@pytest.mark.parametrize(
    ("text", "maker"),
    [
        ("ZASTAVA ARMS", "Zastava Arms"),
        ("CRVENA ZASTAVA", "Zastava Arms"),
        ("ЦРВЕНА ЗАСТАВА", "Zastava Arms"),
        ("ZАSТАVА", "Zastava Arms"),  # Latin text with Cyrillic look-alikes mixed in
        ("ZASTAVA KRAGUJEVAC SERBIA", "Zastava Arms"),
        ("CESKA ZBROJOVKA", "Česká zbrojovka"),
        ("ČESKÁ ZBROJOVKA UHERSKÝ BROD", "Česká zbrojovka"),
        ("GLOCK", "Glock"),
        ("GL0CK", "Glock"),  # zero read for O
        ("GLOCK GES.M.B.H.", "Glock"),
        ("P.BERETTA", "Beretta"),
        ("PIETRO BERETTA", "Beretta"),
        ("CARL WALTHER ULM/DO", "Carl Walther"),
        ("SIG SAUER", "SIG Sauer"),
        ("HECKLER & KOCH", "Heckler & Koch"),
        ("HECKLER&KOCH GMBH", "Heckler & Koch"),
        ("FN HERSTAL", "FN Herstal"),
        ("FABRIQUE NATIONALE", "FN Herstal"),
        ("ТУЛА", "Tula Arms Plant"),
        ("ИЖМАШ", "Izhevsk Mechanical Plant / Kalashnikov Concern"),
        ("NORINCO", "Norinco"),
        ("ARSENAL", "Arsenal"),
        ("CUGIR", "Uzina Mecanica Cugir"),
        ("FEGARMY", "FÉG"),
        ("F.B. RADOM", "Fabryka Broni Radom"),
        ("MAUSER-WERKE", "Mauser"),
        ("BROWNING ARMS COMPANY", "Browning"),
        ("COLT'S MFG CO", "Colt"),
        ("SMITH & WESSON", "Smith & Wesson"),
        ("SMITH&WESS0N", "Smith & Wesson"),
        ("STURM, RUGER & CO", "Sturm, Ruger & Co."),
        ("FORJAS TAURUS", "Taurus"),
        ("CANIK55", "Canik"),
        ("SARSILMAZ", "Sarsılmaz"),
        ("ZORAKI", "Zoraki (Atak Arms)"),
        ("EKOL", "Ekol (Voltran)"),
        ("KIMAR", "Kimar"),
        ("BLOW", "Blow"),
        ("ПРВИ ПАРТИЗАН", "Prvi Partizan"),
        ("HS PRODUKT", "HS Produkt"),
    ],
)
def test_maker_spellings(interpreter: Interpreter, line, text: str, maker: str) -> None:  # type: ignore[no-untyped-def]
    assert maker in _values(interpreter.interpret([line(text)]), MarkKind.MAKER)


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("MADE IN YUGOSLAVIA", "Yugoslavia"),
        ("JUGOSLAVIJA", "Yugoslavia"),
        ("ЈУГОСЛАВИЈА", "Yugoslavia"),
        ("MADE IN SERBIA", "Serbia"),
        ("SRBIJA", "Serbia"),
        ("ПРОИЗВЕДЕНО У СРБИЈИ", "Serbia"),
        ("HRVATSKA", "Croatia"),
        ("BOSNA I HERCEGOVINA", "Bosnia and Herzegovina"),
        ("CRNA GORA", "Montenegro"),
        ("МАКЕДОНИЈА", "North Macedonia"),
        ("SHQIPERIA", "Albania"),
        ("БЪЛГАРИЯ", "Bulgaria"),
        ("MADE IN ROMANIA", "Romania"),
        ("MADE IN HUNGARY", "Hungary"),
        ("ČESKÁ REPUBLIKA", "Czech Republic"),
        ("MADE IN CZECHOSLOVAKIA", "Czechoslovakia"),
        ("СДЕЛАНО В СССР", "USSR"),
        ("MADE IN RUSSIA", "Russia"),
        ("MADE IN CHINA", "China"),
        ("MADE IN W.-GERMANY", "Germany"),
        ("MADE IN AUSTRIA", "Austria"),
        ("MADE IN ITALY", "Italy"),
        ("MADE IN BELGIUM", "Belgium"),
        ("HECHO EN ESPAÑA", "Spain"),
        ("MADE IN TURKEY", "Turkey"),
        ("TÜRKİYE", "Turkey"),
        ("IND. BRAS.", "Brazil"),
        ("MADE IN U.S.A.", "United States"),
        ("MADE IN ITA1Y", "Italy"),  # 1 read for L
    ],
)
def test_country_spellings(interpreter: Interpreter, line, text: str, country: str) -> None:  # type: ignore[no-untyped-def]
    marks = interpreter.interpret([line(text)])
    assert _values(marks, MarkKind.COUNTRY)[:1] == [country]


@pytest.mark.parametrize(
    ("lines", "model"),
    [
        (["M70AB2"], "Zastava M70AB2"),
        (["M70 B1"], "Zastava M70B1"),
        (["M57"], "Zastava M57"),
        (["M48"], "Zastava M48"),
        (["M84"], "Zastava M84"),
        (["TT-33"], "TT-33"),
        (["CZ 75 B"], "CZ 75"),
        (["CZ99"], "Zastava CZ99"),
        (["GLOCK 17"], "Glock 17"),
        (["BERETTA", "MOD. 92FS"], "Beretta 92"),
        (["WALTHER", "PPK"], "Walther PPK"),
        (["VZ.61"], "vz. 61 Skorpion"),
        (["АКМ"], "AKM"),
        (["СКС"], "SKS"),
        (["MP-40"], "MP 40"),
        (["M2010"], "M2010"),  # designation pattern M<year>
    ],
)
def test_model_designations(interpreter: Interpreter, line, lines: list[str], model: str) -> None:  # type: ignore[no-untyped-def]
    marks = interpreter.interpret([line(t) for t in lines])
    assert model in _values(marks, MarkKind.MODEL)


def test_model_read_with_lookalike_alternative(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    # "M7O" whose third character is O 0.6 / 0 0.4: the model dictionary takes the 0
    marks = interpreter.interpret([line("M7O", alts={2: [("O", 0.6), ("0", 0.4)]})])
    assert _values(marks, MarkKind.MODEL) == ["Zastava M70"]
    assert not _values(marks, MarkKind.SERIAL, 0.3)


@pytest.mark.parametrize("text", ["PP 4411 X", "92", "SN PM 3321", "TT 7"])
def test_short_model_names_need_their_maker(interpreter: Interpreter, line, text: str) -> None:  # type: ignore[no-untyped-def]
    assert _values(interpreter.interpret([line(text)]), MarkKind.MODEL, 0.0) == []


@pytest.mark.parametrize(("text", "model"), [("ТТ", "TT-33"), ("ПМ", "Makarov PM"), ("PP", "Walther PP")])
def test_short_model_name_alone_is_a_guess(interpreter: Interpreter, line, text: str, model: str) -> None:  # type: ignore[no-untyped-def]
    marks = [m for m in interpreter.interpret([line(text)]) if m.kind == MarkKind.MODEL]
    assert marks[0].value == model and 0.5 <= marks[0].score < 0.6


@pytest.mark.parametrize("text", ["GLOBAL", "COLTON", "ARSENIC", "CALL 911", "STARTER"])
def test_words_that_are_not_makers(interpreter: Interpreter, line, text: str) -> None:  # type: ignore[no-untyped-def]
    assert _values(interpreter.interpret([line(text)]), MarkKind.MAKER) == []


def test_maker_gives_country_of_origin(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    marks = interpreter.interpret([line("ZASTAVA")])
    countries = [m for m in marks if m.kind == MarkKind.COUNTRY]
    assert countries[0].value == "Serbia"
    assert "maker" in countries[0].detail


def test_cyrillic_original_kept(interpreter: Interpreter, line) -> None:  # type: ignore[no-untyped-def]
    marks = interpreter.interpret([line("ЗАСТАВА")])
    maker = next(m for m in marks if m.kind == MarkKind.MAKER)
    assert "script=cyrillic" in maker.detail and "ЗАСТАВА" in maker.detail


@pytest.mark.parametrize(
    ("text", "importer"),
    [
        ("CAI GEORGIA VT", "Century Arms International"),
        ("CENTURY ARMS INTL", "Century Arms International"),
        ("IMPORTED BY ACME TRADING, RENO NV", "ACME TRADING, RENO NV"),
        ("EAA CORP ROCKLEDGE FL", "European American Armory"),
    ],
)
def test_importers(interpreter: Interpreter, line, text: str, importer: str) -> None:  # type: ignore[no-untyped-def]
    assert importer in _values(interpreter.interpret([line(text)]), MarkKind.IMPORTER)


@pytest.mark.parametrize(
    ("text", "maker"),
    [("ППУ", "Prvi Partizan"), ("PPU", "Prvi Partizan"), ("LC", "Lake City Army Ammunition Plant")],
)
def test_headstamp_codes_on_their_own(interpreter: Interpreter, line, text: str, maker: str) -> None:  # type: ignore[no-untyped-def]
    assert maker in _values(interpreter.interpret([line(text)]), MarkKind.MAKER)


@pytest.mark.parametrize("text", ["ЦЖ 756506", "БХ 38121"])
def test_no_transliteration_coincidences(interpreter: Interpreter, line, text: str) -> None:  # type: ignore[no-untyped-def]
    # ЦЖ is not CZ and БХ is not B&H: a Cyrillic read matches Latin spellings only by look-alikes
    marks = interpreter.interpret([line(text)])
    assert _values(marks, MarkKind.MAKER, 0.0) == [] and _values(marks, MarkKind.COUNTRY, 0.0) == []
