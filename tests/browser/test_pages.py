"""The published book in a real browser: every chapter of the built HTML opened in headless Chromium.

Run by ``make browser-check`` (part of ``make test``) after the HTML is built into
``_build/committed/_build/html``. Served from 127.0.0.1; any request to another address is a
failure. Chromium and its driver come from Debian (``apt-get install chromium chromium-driver``,
which ``.ci/run`` does when they are missing): without them this test fails, it does not skip.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "committed" / "_build" / "html"
CHAPTERS = sorted(path.name for path in (HTML / "book").glob("*.html"))  # chapters, instructor page, references
INSTALL = "install Chromium and its driver: apt-get install chromium chromium-driver (as root)"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture(scope="module")
def site():
    """The built book served on a free loopback port."""
    assert CHAPTERS, f"no built chapters in {HTML / 'book'}: run make build-check first"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(HTML)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def chromium(*arguments: str):
    """Debian's headless Chromium, offline (every host but 127.0.0.1 unresolvable), logging requests."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not binary or not driver_path:
        pytest.fail(f"no Chromium here (chromium: {binary}, chromedriver: {driver_path}); {INSTALL}")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", *arguments):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    return driver


@pytest.fixture(scope="module")
def browser():
    driver = chromium()
    yield driver
    driver.quit()


def requested_urls(driver) -> list[str]:
    """Every URL the page asked for since the last call (Chromium's performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def typeset(driver) -> None:
    """Wait until MathJax has typeset the page (if the page loads it)."""
    driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const wait = () => (window.MathJax && MathJax.startup && MathJax.startup.promise)
            ? MathJax.startup.promise.then(() => done(true)) : setTimeout(wait, 100);
        if (!document.querySelector('script[src*="mathjax"]')) { done(false); } else { wait(); }
    """)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_renders_offline_with_working_figures(site, browser, chapter):
    browser.set_script_timeout(60)
    requested_urls(browser), browser.get_log("browser")  # forget the previous page's entries
    browser.get(f"{site}/book/{chapter}")
    typeset(browser)
    questions = browser.find_elements("css selector", "details.vmp-question")
    if chapter[:2].isdigit() and 1 <= int(chapter[:2]) <= 10:  # every chapter ends with concept questions
        assert len(questions) >= 5, f"{chapter}: {len(questions)} concept questions, expected at least 5"
    for question in questions:  # folded until clicked, then the answer shows (no kernel needed)
        summary = question.find_element("css selector", "summary")
        assert question.get_attribute("open") is None, f"{chapter}: {summary.text!r} is open before a click"
        browser.execute_script("arguments[0].scrollIntoView(); arguments[0].click();", summary)
        answer = browser.execute_script(
            "const d = arguments[0].cloneNode(true); d.querySelector('summary').remove(); return d.innerText.trim()",
            question)
        assert question.get_attribute("open") is not None and answer, f"{chapter}: {summary.text!r} shows no answer"
        assert "$" not in summary.text + answer, f"{chapter}: untypeset math in {summary.text!r}"
    prose = browser.execute_script(  # the page's text outside code blocks (code may hold "\\(" or "|---|")
        "const page = document.querySelector('main, article, body').cloneNode(true);"
        "page.querySelectorAll('pre').forEach(block => block.remove()); return page.innerText")
    for raw in ("\\(", "\\)", "\\[", "\\]", "$$"):
        assert raw not in prose, f"{chapter}: raw TeX {raw!r} left in the rendered text"
    for raw in ("|---|", "|—|", "| --- |"):  # a Markdown table left as text (e.g. a displayed result table)
        assert raw not in prose, f"{chapter}: a Markdown table was not rendered ({raw!r} in the text)"
    elsewhere = [url for url in requested_urls(browser)
                 if urllib.parse.urlparse(url).scheme not in ("data", "blob", "about")
                 and urllib.parse.urlparse(url).hostname != "127.0.0.1"]
    assert not elsewhere, f"{chapter} asked for addresses outside this machine: {elsewhere}"
    errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, f"{chapter}: console errors {errors}"
    for figure in browser.find_elements("css selector", ".vmp-slider-figure"):
        for slider in figure.find_elements("css selector", "input[type=range]"):
            before = figure.find_element("css selector", "img").get_attribute("src")
            browser.execute_script("""
                const s = arguments[0];
                s.value = String(Number(s.value) === Number(s.max) ? 0 : Number(s.value) + 1);
                s.dispatchEvent(new Event('input'));""", slider)
            after = figure.find_element("css selector", "img").get_attribute("src")
            assert after != before, f"{chapter}: moving a slider of {figure.get_attribute('id')} changed nothing"
    for animation in browser.find_elements("css selector", "input.anim-slider"):
        image = animation.find_element("xpath", "../../img")
        before = image.get_attribute("src")
        browser.execute_script("arguments[0].value = arguments[0].max; arguments[0].dispatchEvent(new Event('input'));",
                               animation)
        assert image.get_attribute("src") != before, f"{chapter}: an animation's slider changed nothing"
