"""The page's files and the route that serves them, without a browser: nothing external, small,
cached safely, and every message translated in every language."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.problems import ProblemCode
from api.routes.web import WEB_DIR, WebAssets
from api.settings import ServiceSettings
from tests.api.service_helpers import FakeReader
from tests.web.conftest import dictionary

I18N = WEB_DIR / "i18n"
LANGS = ["en", "sr-Latn", "sr-Cyrl", "bs", "hr", "cnr", "sq", "mk", "fr"]
PAGE_BUDGET_KB = 40  # gzipped: page, script, styles and two dictionaries (English fallback + one)


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = ServiceSettings(data_dir=tmp_path, database_url="")
    with TestClient(create_app(settings, FakeReader(), run_batches=False)) as c:
        yield c


def test_every_language_has_every_message_with_the_same_placeholders() -> None:
    assert sorted(p.stem for p in I18N.glob("*.json")) == sorted(LANGS)
    en = dictionary("en")
    for lang in LANGS[1:]:
        d = dictionary(lang)
        assert d.keys() == en.keys(), (lang, d.keys() ^ en.keys())
        for key, text in d.items():
            assert text.strip(), (lang, key)
            assert placeholders(text) == placeholders(en[key]), (lang, key)


def test_the_page_offers_every_language_and_the_script_knows_them() -> None:
    html = (WEB_DIR / "index.html").read_text("utf-8")
    script = (WEB_DIR / "app.js").read_text("utf-8")
    assert re.findall(r'<option value="([^"]+)"', html) == LANGS
    assert re.search(r"var LANGS = \[([^\]]+)\]", script).group(1).replace("'", "").split(", ") == LANGS  # type: ignore[union-attr]


def test_every_problem_code_of_the_api_has_a_message() -> None:
    en = dictionary("en")
    missing = [str(code) for code in ProblemCode if f"problem.{code}" not in en]
    assert not missing


def test_every_quality_warning_the_pipeline_emits_has_advice() -> None:
    """Codes are found in the vision sources (ReadWarning("code", ...)); an unknown one still gets the
    generic advice, but each known one should say what to do."""
    root = Path(__file__).resolve().parents[2] / "vision"
    codes = set()
    for path in root.rglob("*.py"):
        codes |= set(re.findall(r'ReadWarning\(\s*"(\w+)"', path.read_text("utf-8")))
    assert {"no_text", "small_text", "low_confidence"} <= codes
    en = dictionary("en")
    assert not [c for c in sorted(codes) if f"warning.{c}" not in en]
    assert "warning._other" in en


def test_every_data_i18n_key_in_the_page_exists() -> None:
    html = (WEB_DIR / "index.html").read_text("utf-8")
    script = (WEB_DIR / "app.js").read_text("utf-8")
    en = dictionary("en")
    used = set(re.findall(r'data-i18n(?:-[a-z-]+)?="([\w.]+)"', html))
    used |= {k for k in re.findall(r"\bt\('([\w.]+)'", script) if not k.endswith(".")}
    assert used and not sorted(used - en.keys())


def test_no_external_resource_anywhere() -> None:
    for path in WEB_DIR.rglob("*"):
        if path.is_file():
            text = path.read_text("utf-8").replace("'http://www.w3.org/2000/svg'", "")  # a name, not a link
            assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|@import", text, re.I), path
            assert "url(" not in text, path


def test_page_is_served_with_a_strict_policy_gzip_and_revalidation(client: TestClient) -> None:
    r = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["content-encoding"] == "gzip"
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"] == "no-cache"
    version = re.search(r'name="caliber-version" content="(\w+)"', r.text).group(1)  # type: ignore[union-attr]
    assert f"web/app.js?v={version}" in r.text and "__V__" not in r.text
    again = client.get("/", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""

    js = client.get(f"/web/app.js?v={version}", headers={"Accept-Encoding": "gzip"})
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "immutable" in js.headers["cache-control"]
    assert js.text == (WEB_DIR / "app.js").read_text("utf-8")
    stale = client.get("/web/app.js?v=0123456789ab")
    assert stale.headers["cache-control"] == "no-cache"  # an old page's link is never cached for good
    assert client.get("/web/i18n/sq.json").json()["action.save"] == "Ruaj"


@pytest.mark.parametrize("path", ["/web/../app.py", "/web/%2e%2e/app.py", "/web/index.html", "/web/nope.js",
                                  "/web/i18n/xx.json", "/web/"])
def test_only_the_page_files_are_served(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_the_page_is_not_in_the_api_documentation(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths and not [p for p in paths if p.startswith("/web")]


def test_page_weight_within_budget() -> None:
    assets = WebAssets()
    names = ["index.html", "app.js", "style.css", "i18n/en.json", "i18n/sr-Cyrl.json"]
    sizes = {n: len(assets.get(n).gz) for n in names}  # type: ignore[union-attr]
    total = sum(sizes.values())
    assert total < PAGE_BUDGET_KB * 1024, sizes
    for name in names:  # the gzip served is the file as shipped
        assert gzip.decompress(assets.get(name).gz) == assets.get(name).raw  # type: ignore[union-attr]
