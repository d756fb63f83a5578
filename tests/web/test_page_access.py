"""Basic accessibility of the page: every control labelled, text contrast at least WCAG AA, and the
whole flow usable with the keyboard alone (tab order, Enter, Escape)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import SAMPLE, Service, shot

UNLABELLED = """() => {
  const visible = (el) => el.getClientRects().length > 0;
  const bad = [];
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (!visible(el) || el.type === 'hidden') continue;
    const named = (el.labels && el.labels.length && [...el.labels].some(l => l.textContent.trim()))
      || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
    if (!named) bad.push(el.outerHTML.slice(0, 120));
  }
  for (const el of document.querySelectorAll('button, a, [role=img], dialog[open]')) {
    if (!visible(el)) continue;
    const by = el.getAttribute('aria-labelledby');
    const name = (el.getAttribute('aria-label') || (by && document.getElementById(by)?.textContent)
      || el.textContent || '').trim();
    if (!name) bad.push(el.outerHTML.slice(0, 120));
  }
  return bad;
}"""

LOW_CONTRAST = """() => {
  const rgba = (s) => { const m = s.match(/[\\d.]+/g).map(Number); return m.length === 3 ? [...m, 1] : m; };
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0.5) return c;
    }
    return [255, 255, 255, 1];
  };
  const bad = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (!el.getClientRects().length || el.closest('svg') || el.disabled) continue;
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const cs = getComputedStyle(el);
    const fg = rgba(cs.color), bg = background(el);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const size = parseFloat(cs.fontSize), bold = parseInt(cs.fontWeight, 10) >= 700;
    const need = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;
    if (ratio < need) bad.push(`${el.tagName}#${el.id} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return bad;
}"""

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return '';
  return el.id || (el.closest('#tiles') ? 'tile' + el.dataset.pos : el.name ? el.name : el.tagName);
}"""


def check_labels_and_contrast(page: Any, where: str) -> None:
    assert page.evaluate(UNLABELLED) == [], where
    assert page.evaluate(LOW_CONTRAST) == [], where


def tab_order(page: Any, limit: int = 40) -> list[str]:
    """Focus stops once round the page, from the top (after the browser's own stop, '')."""
    seen: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        here = page.evaluate(FOCUSED)
        if here in seen:
            break
        seen.append(here)
    if "" in seen:
        i = seen.index("")
        seen = seen[i + 1:] + seen[:i]
    return seen


def tab_to(page: Any, target: str, limit: int = 40) -> None:
    for _ in range(limit):
        if page.evaluate(FOCUSED) == target:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{target} is not reachable with Tab")


def type_in_picker(page: Any, ch: str) -> None:
    """Open the picker of the focused character, type ``ch`` in its field and take it with Enter."""
    page.keyboard.press("Enter")
    expect(page.locator("#picker")).to_be_visible()
    page.locator("#picker-input").focus()
    expect(page.locator("#picker-input")).to_be_focused()
    page.keyboard.type(ch)
    expect(page.locator("#picker-input")).to_have_value(ch)
    page.keyboard.press("Enter")


def in_order(stops: list[str], wanted: list[str]) -> bool:
    positions = [stops.index(w) for w in wanted if w in stops]
    return len(positions) == len(wanted) and positions == sorted(positions)


def test_labels_contrast_and_language_attribute(page: Any, service: Service) -> None:
    page.goto("/")
    page.locator("#key").wait_for(state="visible")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").count() == 1
    check_labels_and_contrast(page, "sign-in")
    page.locator("#signin-go").click()  # no key: the error is shown, in an alert
    expect(page.get_by_role("alert")).to_be_visible()
    check_labels_and_contrast(page, "sign-in error")


def test_whole_flow_with_the_keyboard(page: Any, service: Service) -> None:
    # file chooser interception on from the start: switched on late, the first chooser may escape it
    page.on("filechooser", lambda chooser: None)
    page.goto("/")
    page.locator("#key").wait_for(state="visible")
    stops = tab_order(page)
    assert in_order(stops, ["lang", "key", "signin-go"]), stops
    page.locator("#key").focus()
    page.keyboard.type(service.key)
    page.keyboard.press("Enter")
    expect(page.locator("#take")).to_be_visible()

    stops = tab_order(page)
    assert in_order(stops, ["lang", "take", "pick", "signout"]), stops
    check_labels_and_contrast(page, "capture")
    tab_to(page, "take")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    assert chooser.value.element.get_attribute("capture") == "environment"  # the phone's back camera
    chooser.value.set_files(str(SAMPLE))
    tiles = page.locator("#tiles button")
    expect(tiles).to_have_count(6)

    stops = tab_order(page, 60)
    assert in_order(stops, ["lang", "zoom", "candidate", "tile0", "tile5", "serial", "obliterated", "make",
                            "model", "calibre", "case-ref", "trace", "save", "new", "signout"]), stops
    check_labels_and_contrast(page, "result")

    # a character with the keyboard: Enter opens the choices, Tab moves to O, Enter takes it
    tab_to(page, "tile1")
    page.keyboard.press("Enter")
    expect(page.locator("#picker")).to_be_visible()
    check_labels_and_contrast(page, "picker")
    assert page.evaluate("document.activeElement.value") == "alt:0"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.value") == "alt:O"
    page.keyboard.press("Enter")
    expect(page.locator("#picker")).to_be_hidden()
    expect(page.locator("#serial")).to_have_value("JO429Y")
    assert page.evaluate(FOCUSED) == "tile1"  # focus comes back where it was
    # Escape leaves the character as it was
    page.keyboard.press("Enter")
    expect(page.locator("#picker")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#picker")).to_be_hidden()
    expect(page.locator("#serial")).to_have_value("JO429Y")
    # typing a character in the picker
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED) == "tile0"
    # a dialog's 'close' event comes later, as a task: one left over from the picker just closed
    # (quick keys, a busy phone) may arrive after the next picker opened, and must not end it
    page.keyboard.press("Enter")
    expect(page.locator("#picker")).to_be_visible()
    page.evaluate("document.getElementById('picker').dispatchEvent(new Event('close'))")
    page.locator("#picker-input").focus()
    page.keyboard.type("I")
    page.keyboard.press("Enter")
    expect(page.locator("#serial")).to_have_value("IO429Y")
    type_in_picker(page, "J")
    expect(page.locator("#serial")).to_have_value("JO429Y")

    tab_to(page, "trace")
    page.keyboard.press("Enter")
    expect(page.locator("#hit-list > li").first).to_contain_text("J0429Y")
    check_labels_and_contrast(page, "hits")
    tab_to(page, "save")
    page.keyboard.press("Enter")
    expect(page.locator("#saved")).to_be_visible()
    expect(page.locator("#download")).to_have_attribute("href", re.compile("^blob:"))
    check_labels_and_contrast(page, "saved")
    shot(page, "keyboard-saved")
