"""The playground page in headless Chromium: its three sources work offline, and its attention is
vmp.MotionPrompt's, within 1e-3, on the very frames the page decoded.

The camera is Chromium's fake device playing a 4:2:0 Y4M written here from the book's footage; the
file is a WebM written here too, handed to the page's file input. Run after ``make build-check``.
"""

from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from test_pages import chromium, requested_urls, site  # noqa: F401 - the fixture serves the built book

from vmp import MotionPrompt
from vmp.prompt import m_n_for

MEAN, STD = (0.45, 0.45, 0.45), (0.225, 0.225, 0.225)
WIDTH, HEIGHT = 320, 240


def street_frames(count: int = 30) -> np.ndarray:
    import torch.nn.functional as F

    from vmp.data.footage import sample_video
    from vmp.data.io import read_frames

    frames = read_frames(sample_video("bikes"), range(60, 60 + count), backend="pyav").permute(0, 3, 1, 2).float()
    frames = F.interpolate(frames, size=(HEIGHT, WIDTH), mode="area")
    return frames.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def write(path: Path, frames: np.ndarray, container_format: str, codec: str) -> Path:
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("playground")
    frames = street_frames()
    return {"camera": write(folder / "camera.y4m", frames, "yuv4mpegpipe", "rawvideo"),
            "file": write(folder / "mine.webm", frames[::-1].copy(), "webm", "libvpx")}


@pytest.fixture(scope="module")
def camera_browser(clips):
    """Chromium whose camera is the fake device playing ``clips["camera"]``, granted without asking."""
    driver = chromium("--autoplay-policy=no-user-gesture-required", "--use-fake-ui-for-media-stream",
                      "--use-fake-device-for-media-stream",
                      f"--use-file-for-fake-video-capture={clips['camera'].resolve()}")
    yield driver
    driver.quit()


def page_state(driver) -> dict:
    return driver.execute_script("return window.vmpPlayground.state();")


def wait_for_frames(driver, source: str, at_least: int = 3, seconds: float = 30) -> dict:
    """The page's state once it has processed ``at_least`` frames from ``source``."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        state = page_state(driver)
        if state["source"] and source in state["source"] and state["frames"] >= at_least and state["attention"]:
            return state
        time.sleep(0.2)
    status = driver.find_element("id", "vmp-pg-status").text
    raise AssertionError(f"no frames from {source} after {seconds} s; the page says: {status!r}")


def attention_of(state: dict) -> torch.Tensor:
    """vmp.MotionPrompt's attention on the two frames the page holds, at the page's slope and shift."""
    frames = [
        torch.tensor(state[key], dtype=torch.float64).view(HEIGHT, WIDTH, 4)[..., :3] for key in ("previous", "current")
    ]
    pixels = torch.stack(frames).permute(3, 0, 1, 2).unsqueeze(0) / 255  # (1, 3, 2, H, W) in [0, 1]
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1, 1), torch.tensor(STD).view(1, 3, 1, 1, 1)
    m, n = m_n_for(state["slope"], state["shift"])
    layer = MotionPrompt(mean=MEAN, std=STD, m=m, n=n).double()
    _, attention = layer((pixels - mean.double()) / std.double())
    return attention[0, 0]


def agrees(state: dict) -> float:
    page = torch.tensor(state["attention"], dtype=torch.float64).view(HEIGHT, WIDTH)
    gap = (page - attention_of(state)).abs().max().item()
    assert gap < 1e-3, f"the page's attention differs from vmp.MotionPrompt's by up to {gap:.2e}"
    return gap


def test_every_source_gives_the_attention_of_vmp_offline(camera_browser, site, clips):  # noqa: F811
    from vmp.book.playground import playground_constants

    driver = camera_browser
    driver.get(f"{site}/book/playground.html")
    constants = driver.execute_script("return window.VMP_CONSTANTS;")
    expected = playground_constants()
    assert {key: constants[key] for key in ("bt601", "slope_min", "slope_max", "shift_bound", "default_start")} == \
        {key: expected[key] for key in ("bt601", "slope_min", "slope_max", "shift_bound", "default_start")}
    # the book's sample clip, shipped with the HTML
    driver.find_element("css selector", "#vmp-pg-sample option[value='bikes.webm']").click()
    agrees(wait_for_frames(driver, "bikes.webm"))
    # the fake camera, asked for only after the click
    driver.find_element("id", "vmp-pg-camera").click()
    camera = wait_for_frames(driver, "camera")
    agrees(camera)
    assert np.ptp(camera["attention"]) > 0.5  # the street moves: some pixels attended, some not
    # a file the reader picks, read by the page alone
    driver.find_element("id", "vmp-pg-file").send_keys(str(clips["file"].resolve()))
    agrees(wait_for_frames(driver, "mine.webm"))
    urls = requested_urls(driver)
    outside = [url for url in urls if not url.startswith((site, "data:", "blob:"))]
    assert not outside, f"requests that leave the machine: {outside}"


def test_the_sliders_and_buttons_change_the_attention(camera_browser, site):  # noqa: F811
    from selenium.webdriver.common.keys import Keys

    driver = camera_browser
    driver.get(f"{site}/book/playground.html")
    driver.find_element("css selector", "#vmp-pg-sample option[value='carphone.webm']").click()
    wait_for_frames(driver, "carphone.webm")
    driver.find_element("id", "vmp-pg-pause").click()  # hold one pair of frames
    before = page_state(driver)
    slider = driver.find_element("id", "vmp-pg-shift")
    for _ in range(200):
        slider.send_keys(Keys.ARROW_RIGHT)  # the keyboard moves the shift up, 0.001 a step
    after = page_state(driver)
    assert after["shift"] > before["shift"] + 0.1 and after["current"] == before["current"]
    assert np.mean(after["attention"]) < np.mean(before["attention"])  # a higher shift lets less through
    agrees(after)
    authors = driver.find_element("xpath", "//div[@id='vmp-pg-presets']/button[contains(., 'λ = 10')]")
    authors.click()
    loaded = page_state(driver)
    assert loaded["shift"] < -0.59 and 10 < loaded["slope"] < 13
    agrees(loaded)
    # the prompt as chapter 3 shows it: mean + A (x - mean) in pixels, so attention 0 is the mean colour
    prompt = np.array(driver.execute_script(
        "return Array.from(document.getElementById('vmp-pg-prompt').getContext('2d')"
        ".getImageData(0, 0, arguments[0], arguments[1]).data);", WIDTH, HEIGHT)).reshape(HEIGHT, WIDTH, 4)[..., :3]
    frame = np.array(loaded["current"], dtype=float).reshape(HEIGHT, WIDTH, 4)[..., :3]
    attention = np.array(loaded["attention"]).reshape(HEIGHT, WIDTH, 1)
    mean = 255 * np.array(MEAN)
    assert np.abs(prompt - (mean + attention * (frame - mean))).max() <= 1
    driver.find_element("id", "vmp-pg-gray").click()  # readable without colour: the maps turn gray
    pixel = driver.execute_script(
        "return Array.from(document.getElementById('vmp-pg-attention').getContext('2d').getImageData(5, 5, 1, 1).data);"
    )
    assert pixel[0] == pixel[1] == pixel[2]
