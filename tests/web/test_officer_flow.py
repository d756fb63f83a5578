"""The officer's flow in a real Chromium at phone size: sign in, photograph, check, correct, trace, save."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.web.conftest import SAMPLE, SAMPLE_SERIAL, Service, send_sample, shot, sign_in


def test_photograph_correct_trace_and_save(page: Any, service: Service) -> None:
    overlays: list[str] = []
    page.on("request", lambda r: overlays.append(r.url) if "/overlay.png" in r.url else None)
    page.goto("/")
    shot(page, "01-sign-in")
    page.get_by_label("API key").fill("cal_not-a-real-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("The key was not accepted")
    assert page.evaluate("sessionStorage.getItem('caliber.key')") is None

    page.get_by_label("API key").fill(service.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Take a photo")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('caliber.key')") == service.key
    assert page.evaluate("localStorage.getItem('caliber.key')") is None
    shot(page, "02-capture")

    send_sample(page)
    # the sample reads cleanly: no advice, straight to the reading
    tiles = page.locator("#tiles button")
    expect(tiles).to_have_count(len(SAMPLE_SERIAL))
    assert "".join(tiles.locator("b").all_inner_texts()) == SAMPLE_SERIAL
    assert tiles.locator("i").all_inner_texts() == ["abc", "123", "123", "123", "123", "abc"]
    expect(page.locator("#serial")).to_have_value(SAMPLE_SERIAL)
    expect(page.locator("#progress")).to_have_attribute("value", "100")
    # every line read is outlined over the photo and labelled; the serial's line is marked as such
    lines = page.evaluate("document.querySelectorAll('#overlay polygon').length")
    assert lines >= 2
    expect(page.locator("#overlay polygon.serial")).to_have_count(1)
    expect(page.locator("#overlay text")).to_have_count(lines)
    first = page.locator("#legend li").first
    expect(first).to_contain_text(f"serial: {SAMPLE_SERIAL}")
    expect(first.locator(".v")).to_have_text(SAMPLE_SERIAL)
    # the line's other reading, nearly as likely, is shown beside it to compare with the photo
    expect(first.locator(".also")).to_have_text(re.compile(r"^also read as .*\bJO429Y\b"))
    expect(first.locator(".also span")).to_have_attribute("translate", "no")
    assert page.locator("#overlay image").get_attribute("href").startswith("blob:")  # the photo from the phone
    zoomed = page.locator("#overlay").get_attribute("viewBox")
    page.get_by_role("button", name="Show the whole photo").click()
    assert page.locator("#overlay").get_attribute("viewBox") != zoomed
    assert page.locator("#overlay").get_attribute("viewBox").split()[2:] == ["2546.0", "1910.0"]
    page.get_by_role("button", name="Zoom to the markings").click()
    # the uncertain 0/O is highlighted; the maker is pre-filled and editable
    second = tiles.nth(1)
    expect(second).to_have_class(re.compile("uncertain"))
    expect(tiles.nth(0)).not_to_have_class(re.compile("uncertain"))
    expect(page.get_by_label("Maker")).to_have_value(re.compile("Radom"))
    # the other candidate, with where it differs marked
    expect(page.locator("#candidates label").nth(1)).to_contain_text("JO429Y")
    expect(page.locator("#candidates label").nth(1).locator("mark")).to_have_text("O")
    page.locator("#candidates label").nth(1).click()
    expect(page.locator("#serial")).to_have_value("JO429Y")
    expect(tiles.nth(1).locator("b")).to_have_text("O")
    page.locator("#candidates label").nth(0).click()
    expect(page.locator("#serial")).to_have_value(SAMPLE_SERIAL)
    shot(page, "03-reading")

    # change a character: tap the uncertain 0, pick O from its alternatives
    second.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    alts = dialog.locator("#picker-alts button b").all_inner_texts()
    assert alts[:2] == ["0", "O"], alts  # best first, as read
    shot(page, "04-picker")
    dialog.get_by_role("button", name=re.compile(r"^O \(letter\), likelihood")).click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#serial")).to_have_value("JO429Y")
    expect(second).to_have_class(re.compile("edited"))
    expect(second).to_have_attribute("aria-label", "Character 2 of 6: O, letter, changed by you")

    # trace: the registry's J0429Y is found (letter O taken as zero) with its explanation
    with page.expect_request(lambda r: r.url.endswith("/v1/traces")) as sent:
        page.get_by_role("button", name="Trace").click()
    body = sent.value.post_data_json
    assert body["serial"] == "JO429Y" and body["make"] == "Fabryka Broni Radom" and body["recognition_id"]
    hits = page.locator("#hit-list > li")
    expect(hits.first).to_contain_text(SAMPLE_SERIAL)
    expect(hits.first).to_contain_text("stolen")
    expect(hits.first).to_contain_text("Same as the reading")
    expect(hits.first).to_contain_text("letter O taken as zero")
    expect(hits).to_have_count(2)  # J0439Y too, one look-alike further, ranked below
    expect(hits.nth(1)).to_contain_text("J0439Y")
    shot(page, "05-trace")

    # save: the corrections are recorded (machine value kept) and the trace request offered
    page.get_by_label("Case reference (optional)").fill("KU-2026-117")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#saved")).to_contain_text("Saved")
    link = page.get_by_role("link", name="Download the trace request")
    with page.expect_download() as dl:
        link.click()
    doc = json.loads(Path(dl.value.path()).read_text("utf-8"))
    assert doc["case_reference"] == "KU-2026-117"
    assert doc["firearm"]["serial"] == "JO429Y"
    assert {"field": "serial", "read": SAMPLE_SERIAL, "corrected": "JO429Y"}.items() <= doc["corrections"][0].items()
    shot(page, "06-saved")

    rec_id = page.locator("#result").get_attribute("data-id")
    stored = httpx.get(f"{service.base}/v1/recognitions/{rec_id}", headers={"X-API-Key": service.key}).json()
    serial_fix = [c for c in stored["corrections"] if c["field"] == "serial"]
    assert len(serial_fix) == 1 and serial_fix[0]["value"] == "JO429Y"
    assert serial_fix[0]["machine"]["value"] == SAMPLE_SERIAL and serial_fix[0]["confirmed"] is False
    maker_fix = [c for c in stored["corrections"] if c["field"] == "make"]
    assert len(maker_fix) == 1 and maker_fix[0]["confirmed"] is True  # unchanged values are confirmed
    assert "intact" in service.cli("audit", "verify").stdout
    assert not overlays  # a JPEG is shown from the phone's own copy: nothing downloaded back


def test_a_photo_this_browser_cannot_show_is_drawn_by_the_service(page: Any, service: Service,
                                                                   tmp_path: Path) -> None:
    """An iPhone's HEIC original: the service reads it, Chromium cannot decode it, so the page shows
    the service's overlay of the same photo instead (lines already drawn on it)."""
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    heic = tmp_path / "IMG_0001.HEIC"
    Image.open(SAMPLE).save(heic, format="HEIF", quality=80)
    sign_in(page, service.key)
    with page.expect_response(lambda r: "/overlay.png" in r.url) as overlay:
        page.locator("#file-pick").set_input_files(str(heic))
    assert overlay.value.status == 200 and overlay.value.headers["content-type"] == "image/png"
    expect(page.locator("#tiles button")).to_have_count(len(SAMPLE_SERIAL))
    expect(page.locator("#overlay image")).to_have_attribute("href", re.compile("^blob:"))
    expect(page.locator("#overlay polygon")).to_have_count(0)  # drawn by the service, not twice
    expect(page.locator("#legend li").first.locator(".v")).to_have_text(SAMPLE_SERIAL)
    shot(page, "heic-overlay")


def test_first_load_transfers_little(page: Any, service: Service) -> None:
    """What a phone downloads for the page (headers included), measured by the browser itself."""
    page.goto("/")
    page.locator("#lang").select_option("sr-Cyrl")
    expect(page.locator("html")).to_have_attribute("lang", "sr-Cyrl")
    entries = page.evaluate("""() => [...performance.getEntriesByType('navigation'),
                                      ...performance.getEntriesByType('resource')]
                               .map(e => [new URL(e.name).pathname, e.transferSize, e.decodedBodySize])""")
    paths = sorted(p for p, _, _ in entries)
    assert paths == ["/", "/web/app.js", "/web/i18n/en.json", "/web/i18n/sr-Cyrl.json", "/web/style.css"], paths
    sent = sum(t for _, t, _ in entries)
    assert 0 < sent < 40 * 1024, entries
    print(f"page transfer: {sent / 1024:.1f} KB ({sum(d for _, _, d in entries) / 1024:.1f} KB unpacked)")
