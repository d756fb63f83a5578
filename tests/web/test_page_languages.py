"""Languages in the browser: chosen from the browser's language, switchable, and complete: after
switching, no visible text, placeholder or label is still English. Dates and numbers follow the
language (Intl)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import PHONE, Service, send_sample, shot, sign_in

# What the page shows that is data, not wording, is marked translate="no" (serials, makers, the
# language names). Left here: words that are the same in every language.
UNTRANSLATABLE = {"NCIC", "API", "JPEG", "PNG", "?", "·", ":", "—"}

VISIBLE_TEXTS = """() => {
  const out = [];
  const visible = (el) => el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  // each element's own words, with the data inside it (translate="no") shown as "…"
  for (const el of document.body.querySelectorAll('*')) {
    if (!visible(el) || el.closest('[translate=no], script, style')) continue;
    const parts = [];
    for (const c of el.childNodes) {
      if (c.nodeType === Node.TEXT_NODE) parts.push(c.textContent);
      else if (c.nodeType === Node.ELEMENT_NODE && c.getAttribute('translate') === 'no') parts.push('…');
    }
    const text = parts.join('').replace(/\\s+/g, ' ').trim();
    if (/\\p{L}/u.test(text.replace(/…/g, ''))) out.push({ text, where: el.id || el.tagName });
  }
  for (const el of document.querySelectorAll('[placeholder], [aria-label], [alt], [title]')) {
    if (!visible(el) || el.closest('[translate=no]')) continue;
    for (const a of ['placeholder', 'aria-label', 'alt', 'title']) {
      const v = el.getAttribute(a);
      if (v) out.push({ text: v.trim(), where: (el.id || el.tagName) + '@' + a });
    }
  }
  return out;
}"""


def texts(page: Any) -> list[dict[str, str]]:
    return list(page.evaluate(VISIBLE_TEXTS))


def switch(page: Any, lang: str) -> None:
    page.locator("#lang").select_option(lang)
    expect(page.locator("html")).to_have_attribute("lang", lang)


def with_warnings(route: Any) -> None:
    """The real reading, with quality warnings added (one the page does not know yet)."""
    response = route.fetch()
    body = response.json()
    body["warnings"] = [{"code": "glare", "message": "glare covers part of the marking"},
                        {"code": "small_text", "message": "move closer"},
                        {"code": "a_code_added_later", "message": "something new"}]
    route.fulfill(response=response, body=json.dumps(body))


@pytest.mark.parametrize("lang", ["sr-Cyrl", "sq"])
def test_no_untranslated_string(page: Any, service: Service, lang: str) -> None:
    seen: dict[str, list[dict[str, str]]] = {}

    def capture(name: str) -> None:
        english = texts(page)
        switch(page, lang)
        seen[name] = texts(page)
        shot(page, f"lang-{lang}-{name}")
        eng = {t["text"] for t in english}
        left = [t for t in seen[name] if t["text"] in eng and t["text"] not in UNTRANSLATABLE]
        assert not left, f"{name}: still English in {lang}: {left}"
        if lang == "sr-Cyrl":  # Cyrillic through and through, but for the few Latin tokens allowed
            latin = [t for t in seen[name]
                     if re.search(r"[A-Za-z]{2,}", re.sub(r"NCIC|API|JPEG|PNG", "", t["text"]))]
            assert not latin, f"{name}: Latin text in Cyrillic: {latin}"
        switch(page, "en")

    page.goto("/")
    page.locator("#key").wait_for(state="visible")
    capture("sign-in")
    page.locator("#key").fill("cal_wrong")
    page.locator("#signin-go").click()
    expect(page.locator("#error")).to_be_visible()
    capture("sign-in-error")
    sign_in(page, service.key)
    capture("capture")

    page.route("**/v1/recognitions", with_warnings)
    send_sample(page)
    expect(page.locator("#advice")).to_be_visible()
    capture("advice")
    page.unroute("**/v1/recognitions")
    page.locator("#advice-go").click()
    page.locator("#tiles button").nth(1).click()
    expect(page.locator("#picker")).to_be_visible()
    capture("picker")
    page.keyboard.press("Escape")
    expect(page.locator("#picker")).to_be_hidden()

    page.locator("#trace").click()
    expect(page.locator("#hit-list > li")).to_have_count(2)
    page.locator("#save").click()
    expect(page.locator("#saved")).to_be_visible()
    page.route("**/v1/traces", lambda route: route.fulfill(
        status=422, content_type="application/problem+json",
        body=json.dumps({"code": "no_serial", "status": 422, "title": "Nothing to search for", "detail": "x"})))
    page.locator("#trace").click()
    expect(page.locator("#error")).to_be_visible()
    capture("result")


def test_dates_and_numbers_follow_the_language(page: Any, service: Service) -> None:
    sign_in(page, service.key)
    send_sample(page)
    page.locator("#trace").click()
    expect(page.locator("#hit-list > li")).to_have_count(2)
    cost = page.locator("#hit-list > li").nth(1).locator("p").nth(2)
    expect(cost).to_contain_text(re.compile(r"\b\d\.\d\d\b"))  # English: 1.50
    switch(page, "sr-Cyrl")
    expect(cost).to_contain_text(re.compile(r"\b\d,\d\d\b"))  # Serbian: 1,50
    expect(page.locator("#hit-list > li").first).to_contain_text("14. 3. 2019.")  # the record's date
    expect(page.locator("#photo-caption")).to_contain_text(re.compile(r"\d{4}\."))
    expect(page.locator("#candidates")).to_contain_text(re.compile(r"\d+\s?%"))
    switch(page, "fr")
    expect(page.locator("#hit-list > li").first).to_contain_text("14 mars 2019")
    expect(cost).to_contain_text(re.compile(r"\b\d,\d\d\b"))
    switch(page, "sq")
    expect(page.locator("#hit-list > li").first).to_contain_text("2019")
    assert page.locator("#hit-list > li").first.inner_text() != "14 mars 2019"


@pytest.mark.parametrize(("browser_lang", "page_lang", "title"), [
    ("sr-RS", "sr-Cyrl", "Ознаке на оружју"),
    ("sr-Latn-RS", "sr-Latn", "Oznake na oružju"),
    ("sr-ME", "cnr", "Oznake na oružju"),
    ("hr-HR", "hr", "Oznake na oružju"),
    ("sq-XK", "sq", "Shenjat e armës"),
    ("mk-MK", "mk", "Ознаки на оружје"),
    ("fr-BE", "fr", "Marquages d’armes"),
    ("de-DE", "en", "Firearm markings"),
])
def test_language_from_the_browser(browser: Any, service: Service, browser_lang: str, page_lang: str,
                                   title: str) -> None:
    context = browser.new_context(viewport=PHONE, locale=browser_lang, base_url=service.base)
    try:
        page = context.new_page()
        page.goto("/")
        expect(page.locator("html")).to_have_attribute("lang", page_lang)
        expect(page.locator("#title")).to_have_text(title)
        expect(page.locator("#lang")).to_have_value(page_lang)
        # a choice made on the page wins over the browser's language, also after a reload
        page.locator("#lang").select_option("bs")
        expect(page.locator("#signin-go")).to_have_text("Prijavi se")
        page.reload()
        expect(page.locator("html")).to_have_attribute("lang", "bs")
        expect(page.locator("#signin-go")).to_have_text("Prijavi se")
    finally:
        context.close()
