"""A photo is never lost when the network fails, and every error the API can return has a clear,
translated message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from api.problems import STATUS, TITLES, ProblemCode
from tests.web.conftest import SAMPLE_SERIAL, Service, dictionary, kept_photos, send_sample, shot, sign_in

EN = dictionary("en")


def test_offline_upload_keeps_the_photo_and_sends_it_when_back_online(page: Any, service: Service) -> None:
    sign_in(page, service.key)
    page.context.set_offline(True)
    send_sample(page)
    expect(page.get_by_role("alert")).to_contain_text(EN["net.offline"])
    expect(page.get_by_role("alert")).to_contain_text(EN["kept.safe"])
    expect(page.locator("#retry")).to_be_visible()
    assert kept_photos(page) == 1
    expect(page.locator("#kept")).to_be_visible()  # and the page says so
    shot(page, "offline-kept")
    page.context.set_offline(False)  # the 'online' event sends it again, with no tap needed
    expect(page.locator("#tiles button")).to_have_count(len(SAMPLE_SERIAL))
    expect(page.locator("#error")).to_be_hidden()
    assert kept_photos(page) == 0


def test_photo_survives_a_reload_and_is_stored_once(page: Any, service: Service, tmp_path: Path) -> None:
    """The service stored the photo but the answer was lost on the way: the page keeps the photo,
    survives a reload, and its retry (same Idempotency-Key) gets the first reading back."""
    sign_in(page, service.key)
    stored: list[str] = []

    def answer_lost(route: Any) -> None:
        response = route.fetch()  # reaches the service, which stores the reading
        stored.append(response.json()["id"])
        route.abort("connectionreset")

    page.route("**/v1/recognitions", answer_lost)
    send_sample(page)
    expect(page.get_by_role("alert")).to_contain_text(EN["net.failed"])
    assert kept_photos(page) == 1 and len(stored) == 1
    page.unroute("**/v1/recognitions")

    page.reload()
    expect(page.locator("#kept")).to_be_visible()
    expect(page.locator("#kept")).to_contain_text(EN["kept.text"])
    with page.expect_response("**/v1/recognitions") as replay:
        page.get_by_role("button", name=EN["kept.send"]).click()
    assert replay.value.status == 200 and replay.value.headers["idempotent-replayed"] == "true"
    expect(page.locator("#tiles button")).to_have_count(len(SAMPLE_SERIAL))
    assert page.locator("#result").get_attribute("data-id") == stored[0]  # the first reading, not a second one
    assert kept_photos(page) == 0
    page.reload()
    expect(page.locator("#take")).to_be_visible()
    expect(page.locator("#kept")).to_be_hidden()


def test_kept_photo_can_be_discarded(page: Any, service: Service) -> None:
    sign_in(page, service.key)
    page.route("**/v1/recognitions", lambda route: route.abort("internetdisconnected"))
    send_sample(page)
    expect(page.get_by_role("alert")).to_be_visible()
    page.reload()
    page.get_by_role("button", name=EN["kept.discard"]).click()
    expect(page.locator("#kept")).to_be_hidden()
    assert kept_photos(page) == 0


def test_upload_progress_is_shown(page: Any, service: Service) -> None:
    """On a slow link the bar moves while the photo goes up (Chromium's network throttling)."""
    sign_in(page, service.key)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 50, "downloadThroughput": 2_000_000,
                                                   "uploadThroughput": 400_000})
    page.evaluate("""() => { window.__progress = [];
      new MutationObserver(() => window.__progress.push(+document.getElementById('progress').value))
        .observe(document.getElementById('progress'), { attributes: true }); }""")
    send_sample(page)
    expect(page.locator("#upload")).to_be_visible()
    expect(page.locator("#progress-text")).to_contain_text(" of ")
    shot(page, "uploading")
    expect(page.locator("#tiles button")).to_have_count(len(SAMPLE_SERIAL), timeout=90_000)
    seen = page.evaluate("window.__progress")
    assert any(0 < p < 100 for p in seen) and seen[-1] == 100, seen
    assert seen == sorted(seen)


def test_the_real_service_refusing_a_file_is_explained(page: Any, service: Service, tmp_path: Path) -> None:
    sign_in(page, service.key)
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo at all", "utf-8")
    send_sample(page, text)
    expect(page.get_by_role("alert")).to_contain_text(EN["problem.not_an_image"])
    expect(page.locator("#retry")).to_be_hidden()  # trying the same file again would not help
    expect(page.locator("#error-detail-text")).not_to_be_empty()
    assert kept_photos(page) == 0  # not a photo: nothing worth keeping to send again
    expect(page.locator("#kept")).to_be_hidden()


def problem(code: ProblemCode, retry_after: int | None = None) -> dict[str, Any]:
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return {"status": STATUS[code], "content_type": "application/problem+json", "headers": headers,
            "body": json.dumps({"type": f"/problems/{code}", "title": TITLES[code], "status": STATUS[code],
                                "code": str(code), "detail": f"detail of {code}"})}


def answering(code: ProblemCode) -> Any:
    return lambda route: route.fulfill(**problem(code))


@pytest.mark.parametrize("lang", ["en", "mk"])
def test_every_problem_code_has_a_clear_message(page: Any, service: Service, lang: str) -> None:
    messages = dictionary(lang)
    sign_in(page, service.key)
    page.locator("#lang").select_option(lang)
    send_sample(page)
    expect(page.locator("#tiles button")).to_have_count(len(SAMPLE_SERIAL))
    for code in ProblemCode:
        if code in (ProblemCode.UNAUTHORIZED, ProblemCode.BUSY):
            continue  # below: they change what the page does
        page.route("**/v1/traces", answering(code))
        page.locator("#trace").click()
        expect(page.locator("#error-text")).to_have_text(messages[f"problem.{code}"])
        expect(page.locator("#error-detail-text")).to_have_text(f"detail of {code}")
        page.unroute("**/v1/traces")
        page.locator("#error-close").click()
        expect(page.locator("#error")).to_be_hidden()
    # an answer that is not a problem document (a proxy's 502) still gets a message
    page.route("**/v1/traces", lambda route: route.fulfill(status=502, body="<html>bad gateway</html>"))
    page.locator("#trace").click()
    expect(page.locator("#error-text")).to_have_text(messages["problem._other"].replace("{status}", "502"))
    page.unroute("**/v1/traces")
    shot(page, f"errors-{lang}")


def test_busy_is_retried_after_the_time_the_service_asks(page: Any, service: Service) -> None:
    sign_in(page, service.key)
    send_sample(page)
    expect(page.locator("#tiles button")).to_have_count(len(SAMPLE_SERIAL))
    calls: list[int] = []

    def busy_once(route: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            route.fulfill(**problem(ProblemCode.BUSY, retry_after=1))
        else:
            route.continue_()

    page.route("**/v1/traces", busy_once)
    page.locator("#trace").click()
    expect(page.locator("#error-text")).to_have_text(EN["problem.busy"].replace("{s}", "1"))
    expect(page.locator("#hit-list > li").first).to_contain_text(SAMPLE_SERIAL)  # by itself, a second later
    assert len(calls) == 2
    expect(page.locator("#error")).to_be_hidden()


def test_a_revoked_key_asks_to_sign_in_again_and_keeps_the_work(page: Any, service: Service) -> None:
    key = service.cli("keys", "create", "--role", "officer", "--label", "to revoke").stdout.strip()
    sign_in(page, key)
    send_sample(page)
    expect(page.locator("#tiles button")).to_have_count(len(SAMPLE_SERIAL))
    rows = httpx.get(f"{service.base}/v1/recognitions/x", headers={"X-API-Key": key})
    assert rows.status_code == 404
    key_id = next(line.split()[0] for line in service.cli("keys", "list").stdout.splitlines() if "to revoke" in line)
    service.cli("keys", "revoke", key_id)
    page.locator("#trace").click()
    expect(page.locator("#signin")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(EN["problem.unauthorized"])
    assert page.evaluate("sessionStorage.getItem('caliber.key')") is None
    page.locator("#key").fill("cal_mistyped")  # a wrong key first: the trace still waits
    page.locator("#signin-go").click()
    expect(page.get_by_role("alert")).to_contain_text(EN["problem.unauthorized"])
    page.locator("#key").fill(service.key)  # another valid key: the trace asked for goes on
    page.locator("#signin-go").click()
    expect(page.locator("#hit-list > li").first).to_contain_text(SAMPLE_SERIAL)


def test_works_where_the_browser_refuses_storage(page: Any, service: Service) -> None:
    """Blocked cookies or strict private modes: storage throws; the page signs in all the same."""
    page.add_init_script("""for (const k of ['localStorage', 'sessionStorage']) {
        Object.defineProperty(window, k, { get() { throw new DOMException('denied', 'SecurityError'); } });
    }""")
    sign_in(page, service.key)
    expect(page.locator("#signout")).to_be_visible()
    page.locator("#lang").select_option("fr")
    expect(page.locator("#take")).to_have_text("Prendre une photo")
