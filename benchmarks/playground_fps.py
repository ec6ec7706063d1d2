"""Frames per second of the playground page in headless Chromium (software rendering), at 320 x 240.

    make build-check && python benchmarks/playground_fps.py

Serves the built book on loopback, plays the street sample clip, pauses it and times the page's
whole per-frame pipeline (grab the frame, gray, difference, attention, four pictures drawn, TAV)
with ``window.vmpPlayground.benchmark``: five rounds of 100 frames, median printed. A reader's
frame rate is the smaller of this and the source's own (25 fps for the sample clips, a camera's
rate for a camera). Run it alone: this is a 2-core machine.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

HTML = Path(__file__).resolve().parent.parent / "_build" / "committed" / "_build" / "html"


def main() -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (HTML / "book" / "playground.html").is_file():
        sys.exit(f"no built playground in {HTML}: run make build-check first")
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.get(f"http://127.0.0.1:{server.server_address[1]}/book/playground.html")
        driver.find_element("css selector", "#vmp-pg-sample option[value='bikes.webm']").click()
        deadline = time.time() + 30
        while driver.execute_script("return window.vmpPlayground.state().frames") < 5:
            if time.time() > deadline:
                sys.exit("the sample clip did not play")
            time.sleep(0.2)
        driver.find_element("id", "vmp-pg-pause").click()
        rounds = [driver.execute_script("return window.vmpPlayground.benchmark(100);") for _ in range(5)]
    finally:
        driver.quit()
        server.shutdown()
    print(f"playground pipeline at 320 x 240, headless Chromium, software rendering: "
          f"median {statistics.median(rounds):.0f} frames per second (rounds: {', '.join(f'{r:.0f}' for r in rounds)})")


if __name__ == "__main__":
    main()
