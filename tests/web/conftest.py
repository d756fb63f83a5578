"""The officers' page against the real service: ``caliber serve`` in a subprocess on a free loopback
port with a temporary data folder, an officer key made with ``caliber keys create``, a registry record
imported with ``caliber registry import``, and Debian's Chromium driven by Playwright at phone size.

Chromium comes from ``make browser`` (``apt-get install chromium``). Without it these tests skip,
except with ``CI=true``, where a missing browser fails them. Screenshots go to
``tests/web/screenshots/`` (ignored by git), or to ``$CALIBER_SCREENSHOTS`` when set.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.routes.web import WEB_DIR

CHROMIUM = Path(os.environ.get("CALIBER_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(os.environ.get("CALIBER_SCREENSHOTS") or Path(__file__).parent / "screenshots")
SAMPLE = Path(__file__).resolve().parents[2] / "sample_images" / "stamped-radom.jpg"
SAMPLE_SERIAL = "J0429Y"  # sample_images/truth.csv
PHONE = {"width": 360, "height": 800}


def dictionary(lang: str) -> dict[str, str]:
    """The page's messages in one language (api/web/i18n)."""
    data: dict[str, str] = json.loads((WEB_DIR / "i18n" / f"{lang}.json").read_text("utf-8"))
    return data


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Service:
    base: str
    key: str
    env: dict[str, str]
    data_dir: Path

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "api.cli", *args], env=self.env, capture_output=True,
                              text=True, check=True)


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    data = tmp_path_factory.mktemp("web-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALIBER_")}
    env.update(CALIBER_DATA_DIR=str(data), CALIBER_INFERENCE_WORKERS="1")
    records = data / "records.csv"
    records.write_text("serial,make,model,calibre,type,status,source,reference,date\n"
                       f"{SAMPLE_SERIAL},Radom,VIS 35,9x19mm Parabellum,pistol,stolen,Police register,"
                       "KU-77/2019,2019-03-14\n"
                       "J0439Y,Zastava,M70,7.62x39mm,rifle,registered,Police register,R-1,2001-01-01\n", "utf-8")
    cli = [sys.executable, "-m", "api.cli"]
    subprocess.run([*cli, "registry", "import", str(records)], env=env, check=True, capture_output=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (data / "serve.log").open("w")
    proc = subprocess.Popen([*cli, "serve", "--port", str(port), "--log-level", "warning"], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (data / "serve.log").read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the service did not become ready"
            time.sleep(0.3)
        key = subprocess.run([*cli, "keys", "create", "--role", "officer", "--label", "web test"], env=env,
                             capture_output=True, text=True, check=True).stdout.strip()
        yield Service(base, key, env, data)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def browser(chromium: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser: Any, service: Service) -> Iterator[Any]:
    """A phone-sized page (360x800, touch) on the service, in English unless a test says otherwise."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="en-GB", base_url=service.base)
    context.set_default_timeout(60_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield pg
    finally:
        context.close()
    assert not errors, f"errors in the page: {errors}"


def shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Any, key: str) -> None:
    page.goto("/")
    page.locator("#key").fill(key)
    page.locator("#signin-go").click()
    page.locator("#take").wait_for(state="visible")


def send_sample(page: Any, path: Path = SAMPLE) -> None:
    """What the camera button delivers: the file input gets the photo."""
    page.locator("#file-camera").set_input_files(str(path))


def kept_photos(page: Any) -> int:
    """Photos kept in the browser's IndexedDB, not yet stored by the service."""
    return int(page.evaluate("""() => new Promise((ok, bad) => {
        const req = indexedDB.open('caliber', 1);
        req.onupgradeneeded = () => req.result.createObjectStore('photos');
        req.onerror = () => bad(req.error);
        req.onsuccess = () => {
            const c = req.result.transaction('photos').objectStore('photos').count();
            c.onsuccess = () => { ok(c.result); req.result.close(); };
        };
    })"""))
