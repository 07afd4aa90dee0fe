"""The web app in a real browser (Debian's chromium through Playwright) against a local
stack with running functions: sign in through the page (the stack's stand-in managed login),
upload, follow processing, play with signed media, switch quality, captions, storyboard
previews and image variants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from lumiere_dev.client import ApiError
from lumiere_dev.file_server import serve_directory
from lumiere_dev.samples import make_image
from lumiere_dev.stack import LocalStack

from tests.browser.conftest import csp_violations, sign_in
from tests.conftest import without_query

pytestmark = pytest.mark.timeout(300)

READY_TIMEOUT_MS = 180_000
USER = "viewer"  # who the page signs in as; stack.api_client(USER) sees the same assets


def open_library(page: Any, stack: LocalStack) -> None:
    """The page, signed in as USER through its own form (each test's browser context
    starts signed out)."""
    page.goto(stack.web_url or "")
    sign_in(page, stack, USER)


def open_asset(page: Any, stack: LocalStack, asset_id: str) -> None:
    open_library(page, stack)
    page.evaluate("id => { location.hash = `#/assets/${id}`; }", asset_id)


def record_media(page: Any, stack: LocalStack) -> list[tuple[str, int]]:
    """Every response from the CDN the page sees: (URL, status)."""
    seen: list[tuple[str, int]] = []
    page.on(
        "response",
        lambda r: seen.append((r.url, r.status)) if r.url.startswith(stack.media_url) else None,
    )
    return seen


def assert_all_signed(seen: list[tuple[str, int]]) -> None:
    assert seen
    refused = [(u, s) for u, s in seen if s not in (200, 206)]
    assert not refused, refused[:5]
    unsigned = [u for u, _ in seen if "Signature=" not in u]
    assert not unsigned, unsigned[:5]


@pytest.fixture(scope="module")
def uploaded(
    browser: Any, stack: LocalStack, clips: dict[str, Path], spoken_clip: Path, artifacts: Path
) -> dict[str, str]:
    """The three files dropped on the page at once, followed in the list to READY.
    Returns file name → asset id."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    try:
        open_library(page, stack)
        # What the list shows, sampled every 50 ms: proof it follows processing live.
        page.evaluate(
            """() => { window.rowsSeen = {}; setInterval(() => {
                for (const tr of document.querySelectorAll('#assets tbody tr')) {
                    const seen = (window.rowsSeen[tr.dataset.assetId] ||= []);
                    if (seen[seen.length - 1] !== tr.dataset.status) seen.push(tr.dataset.status);
                } }, 50); }"""
        )
        files = [clips["clip"], clips["image"], spoken_clip]
        page.set_input_files("#file-input", [str(f) for f in files])
        # every file's bar counted its bytes up to the whole file
        page.wait_for_function(
            "names => names.every(n => window.lumiere.uploads?.[n]?.done)",
            arg=[f.name for f in files],
        )
        uploads = page.evaluate("window.lumiere.uploads")
        for f in files:
            seen = uploads[f.name]
            assert "error" not in seen, seen
            assert seen["events"], f"no progress event for {f.name}"
            assert seen["events"][-1] == f.stat().st_size
            assert seen["events"] == sorted(seen["events"])
        ids = {f.name: uploads[f.name]["assetId"] for f in files}
        page.screenshot(path=str(artifacts / "library-uploading.png"), full_page=True)
        # the list follows each one live to READY (polling, no reload)
        for asset_id in ids.values():
            page.wait_for_selector(
                f'tr[data-asset-id="{asset_id}"][data-status="READY"]', timeout=READY_TIMEOUT_MS
            )
        page.screenshot(path=str(artifacts / "library.png"), full_page=True)
        # each row went through earlier statuses to READY with no reload of the page
        order = ["CREATED", "UPLOADED", "PROBED", "PROCESSING", "READY"]
        rows_seen = page.evaluate("window.rowsSeen")
        for name, asset_id in ids.items():
            seen = rows_seen[asset_id]
            assert seen[-1] == "READY", (name, seen)
            assert len(seen) >= 2, (name, seen)
            assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen)
        # the presigned POSTs to S3 included: the deployed CSP would have let them through
        assert not csp_violations(console)
        return ids
    finally:
        context.close()


def test_library_lists_the_uploads_with_their_status(
    page: Any, stack: LocalStack, uploaded: dict[str, str]
) -> None:
    open_library(page, stack)
    rows = page.locator("#assets tbody tr")
    rows.first.wait_for()
    listed = {r.get_attribute("data-asset-id"): r.get_attribute("data-status") for r in rows.all()}
    assert {listed.get(i) for i in uploaded.values()} == {"READY"}
    # a video's row gives its length beside its kind, a still's none
    card = page.inner_text(f'tr[data-asset-id="{uploaded["card.mp4"]}"]')
    seconds = int(stack.api_client(USER).get_asset(uploaded["card.mp4"])["probe"]["duration"])
    assert f"video · 0:{seconds:02d}" in card
    assert "·" not in page.inner_text(
        f'tr[data-asset-id="{uploaded["astronaut.png"]}"] td:nth-child(3)'
    )
    # the name links to the asset page
    page.click(f'tr[data-asset-id="{uploaded["card.mp4"]}"] a')
    page.wait_for_selector("#asset-title")
    assert page.text_content("#asset-title") == "card.mp4"


def test_a_link_is_imported_and_followed_in_the_list_and_a_refused_one_says_why(
    page: Any, stack: LocalStack, clips: dict[str, Path], tmp_path: Path, artifacts: Path
) -> None:
    (tmp_path / "linked.mp4").write_bytes(clips["clip"].read_bytes())
    with serve_directory(tmp_path) as origin:
        open_library(page, stack)
        page.fill("#import-url", f"{origin}/linked.mp4")
        page.click("#import-go")
        page.wait_for_function("document.getElementById('import-url').value === ''")
        assert page.is_hidden("#import-error")
        row = page.locator('#assets tbody tr:has-text("linked.mp4")')
        row.wait_for()
        asset_id = row.get_attribute("data-asset-id")
        page.wait_for_selector(
            f'tr[data-asset-id="{asset_id}"][data-status="READY"]', timeout=READY_TIMEOUT_MS
        )
    asset = stack.api_client(USER).get_asset(str(asset_id))
    assert asset["source_url"] == f"{origin}/linked.mp4"
    assert asset["probe"]["video"]["width"] == 640

    page.fill("#import-url", "http://169.254.169.254/latest/meta-data/clip.mp4")
    page.click("#import-go")
    page.wait_for_selector("#import-error:not([hidden])")
    assert "not on the public internet" in page.inner_text("#import-error")
    # the link stays, to be corrected
    assert page.input_value("#import-url").startswith("http://169.254.169.254/")
    page.screenshot(path=str(artifacts / "library-import.png"), full_page=True)


def _wait_playing_past(page: Any, seconds: float, timeout_ms: int = 30_000) -> None:
    page.wait_for_function(
        "s => window.lumiere.player.fatal || document.getElementById('video').currentTime >= s",
        arg=seconds,
        timeout=timeout_ms,
    )


def test_video_plays_switches_every_quality_level_and_previews_the_storyboard(
    page: Any, stack: LocalStack, uploaded: dict[str, str], artifacts: Path
) -> None:
    asset_id = uploaded["card.mp4"]
    asset = stack.api_client(USER).get_asset(asset_id)
    media = record_media(page, stack)
    open_asset(page, stack, asset_id)
    page.wait_for_function("window.lumiere?.player?.ready === true")
    assert page.evaluate("window.lumiere.player.signed") is True

    # plays 3 s with no fatal hls.js error
    page.click("#play")
    _wait_playing_past(page, 3.0)
    state = page.evaluate("window.lumiere.player")
    assert state["fatal"] is False, state["errors"]
    assert page.evaluate("document.getElementById('video').currentTime") >= 3.0

    # the quality menu lists every level the master names, and Auto
    levels = state["levels"]
    assert sorted(lv["height"] for lv in levels) == sorted(
        r["height"] for r in asset["outputs"]["hls"]["renditions"]
    )
    page.click("#quality")
    options = page.locator("#quality-menu input[type=radio]")
    assert options.count() == len(levels) + 1
    assert page.is_checked('#quality-menu input[data-level="-1"]')
    page.click("#quality")  # closes

    # every level, chosen from the menu, is the one hls.js switches to and the decoder shows
    for index, level in enumerate(levels):
        page.evaluate("v => { v.pause(); v.currentTime = 0; }", page.query_selector("#video"))
        page.click("#quality")
        page.click(f'#quality-menu input[data-level="{index}"]')
        page.click("#quality")
        page.click("#play")
        page.wait_for_function(
            "([i, h]) => window.lumiere.player.hls.currentLevel === i"
            " && window.lumiere.player.switched.includes(i)"
            " && document.getElementById('video').videoHeight === h",
            arg=[index, level["height"]],
        )
    assert page.evaluate("window.lumiere.player.fatal") is False
    # every playlist and segment of every level (relative URIs) went out signed and was served
    kinds = {u.split("?")[0].rsplit(".", 1)[-1] for u, _ in media}
    assert {"m3u8", "m4s"} <= kinds, kinds
    assert_all_signed(media)

    # back to Auto
    page.click("#quality")
    page.click('#quality-menu input[data-level="-1"]')
    assert page.evaluate("window.lumiere.player.hls.autoLevelEnabled") is True
    page.keyboard.press("Escape")  # the menu closes from the keyboard
    assert page.locator("#quality-menu").is_hidden()

    # the storyboard: hovering the seek bar shows that moment's sprite region
    page.wait_for_function("window.lumiere.player.storyboardCues > 0")
    box = page.locator("#seek").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    preview = page.locator("#storyboard-preview")
    preview.wait_for(state="visible")
    style = preview.evaluate(
        "e => ({img: e.style.backgroundImage, pos: e.style.backgroundPosition,"
        " w: e.offsetWidth, t: Number(e.dataset.time)})"
    )
    sprite_url = style["img"].split('"')[1]
    assert "Signature=" in sprite_url  # resolved from the VTT, then signed again
    sprite = requests.get(sprite_url, timeout=10)
    assert sprite.status_code == 200
    assert sprite.headers["Content-Type"].startswith("image/")
    # without the signature the CDN refuses it, as CloudFront would
    assert requests.get(sprite_url.split("?")[0], timeout=10).status_code == 403
    duration = asset["probe"]["duration"]
    assert abs(style["t"] - 0.6 * duration) < 0.5
    assert style["pos"] != "0px 0px"  # not the first tile at 60% of the way

    # the screenshot: playing, with the quality menu open
    _wait_playing_past(page, 0.5)
    page.evaluate("document.getElementById('video').play()")
    page.click("#quality")
    page.wait_for_selector("#quality-menu", state="visible")
    page.wait_for_function("!document.getElementById('video').paused")
    page.screenshot(path=str(artifacts / "asset-playing-quality-menu.png"), full_page=True)
    assert page.evaluate("window.lumiere.player.fatal") is False
    assert_all_signed(media)  # the poster, the storyboard and its sheets too


def test_player_renews_the_playback_signature_a_minute_before_it_expires(
    page: Any, stack: LocalStack, uploaded: dict[str, str]
) -> None:
    asset_id = uploaded["card.mp4"]
    asked: list[str] = []
    page.on(
        "request",
        lambda r: (
            asked.append(r.url)
            if r.method == "GET" and r.url.endswith(f"/assets/{asset_id}/playback")
            else None
        ),
    )
    page.clock.install()  # the page's timers, to jump towards the expiry
    open_asset(page, stack, asset_id)
    page.wait_for_function("window.lumiere?.player?.ready === true")
    expires_at = page.evaluate("window.lumiere.player.expiresAt")
    assert len(asked) == 1
    until_expiry_ms = expires_at * 1000 - page.evaluate("Date.now()")
    assert until_expiry_ms > 120_000  # PLAYBACK_TTL_SECONDS, 900 by default
    page.clock.fast_forward(int(until_expiry_ms - 90_000))
    page.wait_for_timeout(500)
    assert page.evaluate("window.lumiere.player.renewals") == 0  # not yet
    page.clock.fast_forward(60_000)  # now less than a minute is left
    page.wait_for_function("window.lumiere.player.renewals === 1")
    assert len(asked) == 2
    assert page.evaluate("window.lumiere.player.fatal") is False


def test_spoken_clip_has_a_captions_track_that_shows_cues(
    page: Any, stack: LocalStack, uploaded: dict[str, str], artifacts: Path
) -> None:
    asset_id = uploaded["spoken.mp4"]
    asset = stack.api_client(USER).get_asset(asset_id)
    assert asset["outputs"].get("captions"), asset["outputs"].get("analysis")
    media = record_media(page, stack)
    open_asset(page, stack, asset_id)
    page.wait_for_function("window.lumiere?.player?.ready === true")
    page.wait_for_function("window.lumiere.player.subtitleTracks.length > 0")
    tracks = page.evaluate("window.lumiere.player.subtitleTracks")
    assert [t["lang"] for t in tracks] == [c["language"] for c in asset["outputs"]["captions"]]
    cc = page.locator("#captions")
    assert cc.is_visible()
    cc.click()
    assert cc.get_attribute("aria-pressed") == "true"
    page.click("#play")
    # the browser's own text track fills with the recognised words
    page.wait_for_function(
        """() => [...document.getElementById('video').textTracks].some(
            t => t.mode === 'showing' && t.cues && t.cues.length > 0)"""
    )
    words = page.evaluate(
        """() => [...document.getElementById('video').textTracks]
            .filter(t => t.mode === 'showing')
            .flatMap(t => [...t.cues].map(c => c.text)).join(' ')"""
    )
    assert words.strip()
    _wait_playing_past(page, 2.0)
    page.screenshot(path=str(artifacts / "asset-captions.png"), full_page=True)
    assert page.evaluate("window.lumiere.player.fatal") is False
    assert any(u.split("?")[0].endswith(".vtt") for u, _ in media)  # subtitle segments
    assert_all_signed(media)


def test_image_shows_its_responsive_variants_over_its_placeholder(
    page: Any, stack: LocalStack, uploaded: dict[str, str], artifacts: Path
) -> None:
    asset_id = uploaded["astronaut.png"]
    outputs = stack.api_client(USER).get_asset(asset_id)["outputs"]
    images = outputs["images"]
    media = record_media(page, stack)
    open_asset(page, stack, asset_id)
    page.wait_for_function(
        "() => { const i = document.getElementById('image'); return i && i.complete"
        " && i.naturalWidth > 0 && i.style.opacity === '1'; }"
    )
    # Compared without their signatures: the page read the asset itself, and a signed
    # URL's expiry moves to the next minute between two reads.
    variant_urls = {without_query(v["url"]) for v in images["variants"]}
    # the browser picked one of the variants (from a <source> or the img's srcset)
    current = page.evaluate("document.getElementById('image').currentSrc")
    assert without_query(current) in variant_urls
    srcsets = page.evaluate(
        "[...document.querySelectorAll('#picture source, #picture img')].map(e => e.srcset)"
    )
    offered = {part.strip().split(" ")[0] for s in srcsets for part in s.split(",")}
    assert {without_query(u) for u in offered} == variant_urls
    # the placeholder: the dominant colour and a decoded ThumbHash behind the image
    frame = page.evaluate(
        "() => { const f = document.getElementById('image-frame'); const s = getComputedStyle(f);"
        " return {placeholder: f.dataset.placeholder, bg: s.backgroundColor,"
        " image: s.backgroundImage.slice(0, 30)}; }"
    )
    assert frame["placeholder"] == "thumbhash"
    assert frame["image"].startswith('url("data:image/png;base64')
    hex_colour = images["dominant_color"].lstrip("#")
    rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (0, 2, 4))
    assert frame["bg"] == f"rgb({rgb[0]}, {rgb[1]}, {rgb[2]})"
    assert page.locator("#variants li").count() == len(images["variants"])
    # the analysis found her face; it is outlined where the catalogue says, over the image
    faces = outputs["analysis"]["faces"]
    assert faces, outputs["analysis"]
    boxes = page.locator("#faces .face-box")
    assert boxes.count() == len(faces)
    picture = page.locator("#faces img").bounding_box()
    first = boxes.first.bounding_box()
    assert abs(first["x"] - (picture["x"] + faces[0]["x"] * picture["width"])) < 3
    assert abs(first["width"] - faces[0]["w"] * picture["width"]) < 5
    # the on-the-fly thumbnail: /img/ needs the token, so the page fetched it into a blob
    page.wait_for_function(
        "() => { const t = document.getElementById('thumbnail');"
        " return t && t.complete && t.naturalWidth > 0; }"
    )
    thumb = page.evaluate(
        "() => { const t = document.getElementById('thumbnail');"
        " return {src: t.src, w: t.naturalWidth, h: t.naturalHeight}; }"
    )
    assert thumb["src"].startswith("blob:")
    assert (thumb["w"], thumb["h"]) == (320, 320)
    page.screenshot(path=str(artifacts / "asset-image.png"), full_page=True)
    assert_all_signed(media)


def test_a_title_given_on_the_asset_page_names_it_as_text_everywhere(
    page: Any, stack: LocalStack, uploaded: dict[str, str], artifacts: Path
) -> None:
    asset_id = uploaded["astronaut.png"]
    client = stack.api_client(USER)
    open_asset(page, stack, asset_id)
    page.click("#rename")
    title = '<img src=x onerror="window.pwned = 1"> Moon walk'  # shown, never parsed
    page.fill("#title-input", title)
    page.click("#title-save")
    page.wait_for_function(
        "t => document.getElementById('asset-title')?.textContent === t", arg=title
    )
    assert page.evaluate("window.pwned === undefined")
    assert page.locator("#asset-title img").count() == 0
    assert "File: astronaut.png" in page.inner_text(".file-name")
    assert client.get_asset(asset_id)["title"] == title
    page.screenshot(path=str(artifacts / "asset-titled.png"), full_page=True)
    # the library names it by its title too
    page.evaluate("() => { location.hash = '#/'; }")
    page.wait_for_function(
        "([id, t]) => document.querySelector(`tr[data-asset-id='${id}'] a`)?.textContent === t",
        arg=[asset_id, title],
    )
    # and finds it by a word of it, as it is typed
    page.fill("#search", "MOON")
    page.wait_for_function(
        "id => [...document.querySelectorAll('#assets tbody tr')].map(r => r.dataset.assetId)"
        ".join() === id",
        arg=asset_id,
    )
    page.fill("#search", "no such words")
    page.wait_for_function("() => !document.getElementById('empty').hidden")
    assert page.inner_text("#empty") == "Nothing matches “no such words”."
    assert page.locator("#assets tbody tr").count() == 0
    page.fill("#search", "")
    # an emptied title goes back to the file's name
    page.evaluate("id => { location.hash = `#/assets/${id}`; }", asset_id)
    page.click("#rename")
    page.fill("#title-input", "  ")
    page.click("#title-save")
    page.wait_for_function(
        "() => document.getElementById('asset-title')?.textContent === 'astronaut.png'"
    )
    assert "title" not in client.get_asset(asset_id)


def test_the_original_downloads_byte_for_byte_under_its_name(
    page: Any, stack: LocalStack, uploaded: dict[str, str], clips: dict[str, Path]
) -> None:
    asset_id = uploaded["astronaut.png"]
    open_asset(page, stack, asset_id)
    with page.expect_download() as download:
        page.click("#download-original")
    saved = download.value
    assert saved.suggested_filename == clips["image"].name
    assert Path(saved.path()).read_bytes() == clips["image"].read_bytes()
    assert page.evaluate("location.hash") == f"#/assets/{asset_id}"  # still on the page


def test_deleting_from_the_asset_page_removes_it_from_the_list(
    page: Any, stack: LocalStack, tmp_path: Path
) -> None:
    still = make_image(tmp_path / "to-delete.png", width=64, height=48)
    open_library(page, stack)
    page.set_input_files("#file-input", str(still))
    page.wait_for_function("window.lumiere.uploads?.['to-delete.png']?.done")
    asset_id = page.evaluate("window.lumiere.uploads['to-delete.png'].assetId")
    page.click(f'tr[data-asset-id="{asset_id}"] a')
    page.wait_for_selector("#delete")
    page.once("dialog", lambda d: d.accept())  # "Delete to-delete.png?"
    page.click("#delete")
    page.wait_for_function("location.hash === '#/'")
    # the list, refreshed on the way back, no longer has it
    page.wait_for_selector(f'tr[data-asset-id="{asset_id}"]', state="detached")
    assert page.locator("#assets tbody tr").count() >= 1  # the others are still there
    with pytest.raises(ApiError) as gone:
        stack.api_client(USER).get_asset(asset_id)
    assert gone.value.status == 404


def test_the_frame_on_screen_becomes_the_poster_and_back(
    page: Any, stack: LocalStack, uploaded: dict[str, str], artifacts: Path
) -> None:
    asset_id = uploaded["card.mp4"]
    client = stack.api_client(USER)
    open_asset(page, stack, asset_id)
    page.wait_for_function("window.lumiere?.player?.ready === true")
    assert "chosen automatically" in page.inner_text("#poster-status")
    assert page.locator("#auto-poster").is_hidden()
    page.evaluate(
        "v => new Promise(done => { v.addEventListener('seeked', done, {once: true});"
        " v.currentTime = 2.5; })",
        page.query_selector("#video"),
    )
    page.click("#set-poster")
    # the page is drawn again with the chosen poster, which the CDN serves
    page.wait_for_function(
        "() => document.getElementById('video')?.poster.includes('/poster_t2.5.jpg')"
    )
    assert "the frame at 2.50 s" in page.inner_text("#poster-status")
    poster = page.evaluate("document.getElementById('video').poster")
    assert requests.get(poster, timeout=10).status_code == 200
    assert client.get_asset(asset_id)["poster_time"] == 2.5
    page.screenshot(path=str(artifacts / "asset-poster-chosen.png"), full_page=True)
    page.click("#auto-poster")
    page.wait_for_function(
        "() => /\\/poster\\.jpg\\?/.test(document.getElementById('video')?.poster || '')"
    )
    assert "poster_time" not in client.get_asset(asset_id)


def test_a_public_assets_thumbnail_loads_in_an_img_without_the_token(
    page: Any, stack: LocalStack, uploaded: dict[str, str]
) -> None:
    asset_id = uploaded["card.mp4"]
    client = stack.api_client(USER)
    client.set_visibility(asset_id, "public")
    try:
        open_asset(page, stack, asset_id)
        page.wait_for_function(
            "() => document.getElementById('thumbnail')?.complete"
            " && document.getElementById('thumbnail').naturalWidth === 320"
        )
        src = page.evaluate("document.getElementById('thumbnail').src")
        assert src.startswith(f"{stack.api_url}/public/img/{asset_id}/")
        assert requests.get(src, timeout=30).status_code == 200  # no token: any page can
    finally:
        client.set_visibility(asset_id, "private")
