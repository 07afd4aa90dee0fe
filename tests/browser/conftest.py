"""Browser fixtures: Debian's chromium driven by Playwright (no `playwright install`: the
browser is the system one), a local stack with running functions serving the web app,
and screenshots kept as test artifacts."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lumiere.media.tools import find_binaries, run_tool
from lumiere_dev.samples import make_clip, make_image
from lumiere_dev.stack import LocalStack
from lumiere_dev.web_server import WEB_DIR, ensure_vendored

from tests.conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
# Screenshots land here (git-ignored) so a person can look at what the tests saw.
ARTIFACTS = REPO / "tests" / "browser" / "artifacts"
SPEECH = "Welcome to Lumiere. This short clip is spoken so that it gets captions."


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed (apt-get install chromium; scripts/bootstrap does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not ensure_vendored(WEB_DIR):
        pytest.skip("web/vendor/ could not be filled (scripts/vendor-web needs npm)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # The page runs under the site distribution's CSP, reported rather than enforced:
    # Playwright's wait_for_function evaluates strings, which script-src 'self' forbids.
    # Imports may reach 127.0.0.1, where the tests serve the files they import from.
    with LocalStack(
        REPO / "template.yaml",
        stack_name="browser",
        csp_report_only=True,
        overrides={"IMPORT_ALLOWED_NETWORKS": "127.0.0.1/32"},
    ) as s:
        yield s


def csp_violations(messages: list[str]) -> list[str]:
    """What the page did that the deployed CSP would refuse, from the console's reports;
    the test driver's own string evaluation (unsafe-eval) is not the page's."""
    return [
        m
        for m in messages
        if "Content Security Policy" in m and "Evaluating a string as JavaScript" not in m
    ]


@pytest.fixture
def page(browser: Any, stack: LocalStack) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.console_messages = []  # type: ignore[attr-defined]
    pg.on("console", lambda m: pg.console_messages.append(f"{m.type}: {m.text}"))
    pg.on("pageerror", lambda e: pg.console_messages.append(f"pageerror: {e}"))
    pg.set_default_timeout(30_000)
    yield pg
    context.close()
    assert not csp_violations(pg.console_messages)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 6 s 640x360 test card with a tone, and a photograph with a face (scikit-image's
    astronaut, 512x512) for the analysis to find."""
    cv2 = pytest.importorskip("cv2")
    skimage_data = pytest.importorskip("skimage.data")
    d = tmp_path_factory.mktemp("browser-media")
    still = d / "astronaut.png"
    cv2.imwrite(str(still), cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR))
    return {"clip": make_clip(d / "card.mp4", seconds=6, width=640, height=360), "image": still}


@pytest.fixture(scope="session")
def spoken_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A still test card for the length of espeak-ng speaking SPEECH: captions to find."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    d = tmp_path_factory.mktemp("browser-speech")
    card = make_image(d / "card.png", width=640, height=360)
    speech = d / "speech.wav"
    subprocess.run([espeak, "-w", str(speech), SPEECH], check=True, timeout=60)
    out = d / "spoken.mp4"
    run_tool(
        [
            str(find_binaries().ffmpeg), "-v", "error", "-y",
            "-loop", "1", "-framerate", "10", "-i", str(card), "-i", str(speech),
            "-vf", "format=yuv420p", "-c:v", "libx264", "-preset", "ultrafast",
            "-c:a", "aac", "-b:a", "96k", "-shortest", str(out),
        ],
        timeout=120,
    )  # fmt: skip
    return out


def sign_in(page: Any, stack: LocalStack, name: str) -> None:
    """Signs the page in as a person does: the page's button leaves for the stack's
    stand-in managed login, the name goes in its form, and the browser comes back to the
    page with a code, which the page trades for tokens."""
    page.wait_for_function("window.lumiere && window.lumiere.started")
    page.click("#sign-in")
    page.wait_for_url(f"{stack.api_url}/_local/oauth2/authorize?*")
    page.fill("#username", name)
    page.click("#sign-in")
    page.wait_for_url(f"{stack.web_url}/**")
    page.wait_for_function("window.lumiere && window.lumiere.started")
    page.wait_for_selector("#signed-in:not([hidden])")
