"""GET /assets, the owner's title and passthrough (PATCH /assets/{id}) and DELETE
/assets/{id} against the local stack's API and moto."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from lumiere.cloud import catalogue as catalogue_module
from lumiere.cloud.catalogue import Catalogue
from lumiere.pipeline.search_text import searchable
from lumiere_dev.client import ApiError, LumiereClient
from lumiere_dev.stack import LocalStack

from tests.conftest import REPO, Media
from tests.integration.helpers import deliver, receive, transcode_all


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(REPO / "template.yaml", run_functions=False, stack_name="catalogue") as s:
        yield s


@pytest.fixture(scope="module")
def client(stack: LocalStack) -> LumiereClient:
    return stack.api_client()


def process_all(stack: LocalStack) -> None:
    while messages := receive(stack, "IngestQueue", wait=1):
        deliver(stack, "IngestFunction", messages)
    transcode_all(stack)  # every part, the analysis too


def test_list_paginates_newest_first_and_filters(
    stack: LocalStack, client: LumiereClient, media: Media
) -> None:
    ready = [client.upload_file(media.tone, content_type="audio/wav").asset_id for _ in range(3)]
    failed = client.upload_file(media.not_media, content_type="video/mp4").asset_id
    pending = client.request_upload("later.mp4", "video/mp4", 10)["asset_id"]
    process_all(stack)

    seen, cursor, pages = [], None, 0
    seen_items: list[dict[str, Any]] = []
    while True:
        page = client.list_assets(limit=2, **({"cursor": cursor} if cursor else {}))
        assert len(page["items"]) <= 2
        seen += [item["asset_id"] for item in page["items"]]
        seen_items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen[:5] == [pending, failed, *reversed(ready)]  # newest first
    assert len(seen) == len(set(seen))
    assert pages >= 3

    only_ready = client.list_assets(status="READY", kind="audio", limit=100)["items"]
    assert {i["asset_id"] for i in only_ready} >= set(ready)
    assert all(i["status"] == "READY" and i["kind"] == "audio" for i in only_ready)
    assert all(i["hls_url"].split("?")[0].endswith("/hls/master.m3u8") for i in only_ready)
    assert all(abs(i["duration"] - 2) < 0.1 for i in only_ready)  # the 2 s tone's length
    assert "duration" not in next(i for i in seen_items if i["asset_id"] == pending)
    [f] = [i for i in client.list_assets(status="FAILED")["items"] if i["asset_id"] == failed]
    assert f["error"]["reason"] == "unsupported_format"


@pytest.mark.parametrize(
    "params",
    [{"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"status": "DONE"}, {"kind": "pdf"},
     {"cursor": "!!notbase64"}, {"cursor": "eyJhIjogMX0"}],
)  # fmt: skip
def test_bad_list_parameters_are_400(stack: LocalStack, params: dict[str, str]) -> None:
    r = requests.get(
        f"{stack.api_url}/assets",
        params=params,
        headers={"Authorization": stack.token()},
        timeout=10,
    )
    assert r.status_code == 400
    assert r.json()["error"]["reason"] == "invalid_request"


def test_delete_removes_original_outputs_and_metadata_idempotently(
    stack: LocalStack, client: LumiereClient, media: Media
) -> None:
    asset_id = client.upload_file(media.silent_clip, content_type="video/mp4").asset_id
    process_all(stack)
    assert client.get_asset(asset_id)["status"] == "READY"
    s3 = stack.client("s3")
    uploads = stack.spec.buckets["UploadsBucket"].name
    media_bucket = stack.spec.functions["TranscodeFunction"].environment["MEDIA_BUCKET"]
    assert s3.list_objects_v2(Bucket=media_bucket, Prefix=f"assets/{asset_id}/")["KeyCount"] > 0

    assert client.delete_asset(asset_id) == 204
    assert client.delete_asset(asset_id) == 204  # idempotent
    with pytest.raises(ApiError) as e:
        client.get_asset(asset_id)
    assert e.value.status == 404
    versions = s3.list_object_versions(Bucket=uploads, Prefix=f"uploads/{asset_id}/")
    assert versions.get("Versions", []) == []
    assert versions.get("DeleteMarkers", []) == []
    assert s3.list_objects_v2(Bucket=media_bucket, Prefix=f"assets/{asset_id}/")["KeyCount"] == 0
    assert asset_id not in {i["asset_id"] for i in client.list_assets(limit=100)["items"]}
    record = stack.client("dynamodb").get_item(
        TableName=stack.spec.tables["AssetsTable"].name, Key={"asset_id": {"S": asset_id}}
    )["Item"]
    assert record["status"]["S"] == "DELETED"
    assert "probe" not in record
    assert "outputs" not in record
    assert int(record["expires_at"]["N"]) > 0


def test_late_event_cannot_revive_a_deleted_asset(
    stack: LocalStack, client: LumiereClient, media: Media
) -> None:
    asset_id = client.upload_file(media.tone, content_type="audio/wav").asset_id
    notifications = receive(stack, "IngestQueue")
    client.delete_asset(asset_id)
    deliver(stack, "IngestFunction", notifications)
    assert receive(stack, "TranscodeQueue", wait=1) == []
    assert receive(stack, "AnalysisQueue", wait=0) == []
    with pytest.raises(ApiError):
        client.get_asset(asset_id)


def test_unknown_asset_delete_is_404(client: LumiereClient) -> None:
    with pytest.raises(ApiError) as e:
        client.delete_asset("0" * 32)
    assert e.value.status == 404


def patch(stack: LocalStack, asset_id: str, body: str, token: str | None = None) -> Any:
    """A raw PATCH: the body as sent, so tests can send what a JSON encoder would not."""
    return requests.patch(
        f"{stack.api_url}/assets/{asset_id}",
        data=body.encode("utf-8"),
        headers={"Authorization": token or stack.token(), "Content-Type": "application/json"},
        timeout=10,
    )


def record(stack: LocalStack, asset_id: str) -> dict[str, Any]:
    return stack.client("dynamodb").get_item(
        TableName=stack.spec.tables["AssetsTable"].name, Key={"asset_id": {"S": asset_id}}
    )["Item"]


def test_the_owners_title_and_passthrough(stack: LocalStack, client: LumiereClient) -> None:
    ticket = client.request_upload(
        "IMG_0042.MOV", "video/quicktime", 10, title=" Launch day ", passthrough="order-17"
    )
    asset_id = ticket["asset_id"]
    asset = client.get_asset(asset_id)
    assert (asset["title"], asset["passthrough"]) == ("Launch day", "order-17")
    assert asset["filename"] == "IMG_0042.MOV"  # kept: it is what a download is called
    [listed] = [a for a in client.list_assets()["items"] if a["asset_id"] == asset_id]
    assert (listed["title"], listed["passthrough"]) == ("Launch day", "order-17")

    # any time before READY too; only what is sent changes
    renamed = client.update_asset(asset_id, title="Launch day, cut 2")
    assert (renamed["title"], renamed["passthrough"]) == ("Launch day, cut 2", "order-17")
    assert renamed["updated_at"] >= asset["updated_at"]
    assert renamed["status"] == "CREATED"
    cleared = client.update_asset(asset_id, title=None, passthrough="")
    assert not {"title", "passthrough"} & set(cleared)
    assert not {"title", "passthrough"} & set(record(stack, asset_id))


def test_bad_details_are_400_and_change_nothing(stack: LocalStack, client: LumiereClient) -> None:
    asset_id = client.request_upload("a.mp4", "video/mp4", 10, title="Kept")["asset_id"]
    for body, status, words in (
        (json.dumps({"title": "t" * 513}), 400, "the limit is 512"),
        (json.dumps({"title": "two\nlines"}), 400, "one line"),
        ('{"title": "\\ud800"}', 400, "valid Unicode"),  # valid JSON, not storable text
        (json.dumps({"passthrough": ["a"]}), 400, "must be a string"),
        (json.dumps({"title": "ok", "owner": "someone-else"}), 400, "Send a JSON object"),
        # a valid title, but the poster is refused first (409 before READY): nothing changes
        (json.dumps({"title": "Changed", "poster_time": 1}), 409, "READY"),
    ):
        r = patch(stack, asset_id, body)
        assert r.status_code == status, (body, r.text)
        assert words in r.json()["error"]["message"], (body, r.text)
    r = requests.post(
        f"{stack.api_url}/uploads",
        data=b'{"filename": "a.mp4", "content_type": "video/mp4", "size": 1, "title": "\\udfff"}',
        headers={"Authorization": stack.token(), "Content-Type": "application/json"},
        timeout=10,
    )
    assert r.status_code == 400, r.text
    assert client.get_asset(asset_id)["title"] == "Kept"


def test_only_the_owner_changes_details_and_deletion_drops_them(
    stack: LocalStack, client: LumiereClient
) -> None:
    asset_id = client.request_upload("a.mp4", "video/mp4", 10, passthrough="p-1")["asset_id"]
    stranger = stack.api_client("stranger")
    with pytest.raises(ApiError) as e:
        stranger.update_asset(asset_id, passthrough="p-2")
    assert e.value.status == 404
    assert client.get_asset(asset_id)["passthrough"] == "p-1"

    assert client.delete_asset(asset_id) == 204
    assert "passthrough" not in record(stack, asset_id)  # the tombstone keeps no words
    with pytest.raises(ApiError) as e:
        client.update_asset(asset_id, title="Back?")
    assert e.value.status == 404
    assert "title" not in record(stack, asset_id)


def test_search_finds_assets_by_the_words_of_their_title_or_file_name(
    stack: LocalStack,
) -> None:
    client = stack.api_client("searcher")  # a library of its own
    ids = {
        name: client.request_upload(filename, "video/mp4", 10, title=title)["asset_id"]
        for name, filename, title in (
            ("launch", "IMG_0042.MOV", "Launch day"),
            ("cafe", "b-roll.mp4", "Café interior"),
            ("plain", "Launch_rehearsal.mp4", None),
            ("other", "holiday.mp4", "Beach"),
        )
    }

    def found(q: str, **params: Any) -> set[str]:
        return {a["asset_id"] for a in client.list_assets(q=q, limit=100, **params)["items"]}

    assert found("LAUNCH") == {ids["launch"], ids["plain"]}  # title, and file name
    assert found("launch day") == {ids["launch"]}  # every word must match
    assert found("cafe") == found("CAFÉ") == {ids["cafe"]}  # accents and case folded
    assert found("img_0042") == {ids["launch"]}
    assert found("nothing-like-it") == set()
    assert found("launch", status="READY") == set()  # with the other filters
    # a new title is found at once, and the old one no longer
    client.update_asset(ids["other"], title="Launch party")
    assert found("party") == {ids["other"]}
    assert found("beach") == set()
    client.update_asset(ids["other"], title=None)
    assert found("party") == set()
    assert found("holiday") == {ids["other"]}  # its file name still is
    # someone else's words are not searched
    assert {a["asset_id"] for a in client.list_assets(limit=100)["items"]} == set(ids.values())
    assert not {a["asset_id"] for a in stack.api_client("x").list_assets(q="launch")["items"]}
    r = requests.get(
        f"{stack.api_url}/assets",
        params={"q": "x" * 101},
        headers={"Authorization": stack.token("searcher")},
        timeout=10,
    )
    assert r.status_code == 400
    assert "the limit is 100" in r.json()["error"]["message"]


def test_a_search_of_a_large_library_answers_in_bounded_reads_and_resumes(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The budget, small enough to see: two reads a page (2 then 8 items), over 40
    assets of which every seventh matches. Each page answers after its two reads, full
    or not, and following the cursors finds every match once, newest first."""
    catalogue = Catalogue(stack.spec.tables["AssetsTable"].name)
    owner = "librarian"
    made = []
    for n in range(40):
        asset_id = f"{n:032x}"
        title = f"{'Match' if n % 7 == 0 else 'Other'} {n}"
        catalogue.create(
            {
                "asset_id": asset_id,
                "owner": owner,
                "status": "CREATED",
                "filename": "a.mp4",
                "title": title,
                "search_text": searchable(title, "a.mp4"),
                "created_at": f"2026-11-26T00:00:{n:02d}Z",
                "updated_at": f"2026-11-26T00:00:{n:02d}Z",
            }
        )
        made.append((asset_id, n % 7 == 0))
    monkeypatch.setattr(catalogue_module, "READS_PER_PAGE", 2)
    reads: list[int] = []
    real_query = catalogue._table.query

    def counted(**params: Any) -> Any:
        reads.append(params["Limit"])
        return real_query(**params)

    monkeypatch.setattr(catalogue._table, "query", counted)
    matches, pages, cursor = [], 0, None
    while True:
        reads.clear()
        page = catalogue.list_by_owner(owner, limit=2, start_after=cursor, terms=["match"])
        assert reads == [2, 8][: len(reads)]  # never more than two reads, growing
        matches += [item["asset_id"] for item in page.items]
        pages += 1
        cursor = page.last_key
        if cursor is None:
            break
    expected = [asset_id for asset_id, match in reversed(made) if match]
    assert matches == expected  # all six, once each, newest first
    assert pages > len(expected) // 2  # some pages came back short: the budget held


def test_a_search_finds_records_older_than_the_search_index(stack: LocalStack) -> None:
    """Assets registered before search_text existed have none; q still finds them by
    their title and file name, folded the same way, and leaves out the ones that do not
    match, beside indexed records."""
    catalogue = Catalogue(stack.spec.tables["AssetsTable"].name)
    owner = "old-timer"
    records = [
        ("Café Interior", "IMG_1.jpg", False),  # old: no search_text
        (None, "cafe-terrace.MOV", False),
        ("Harbour", "boats.mp4", False),
        ("Café du port", "x.mp4", True),  # indexed, as new records are
    ]
    for n, (title, filename, indexed) in enumerate(records):
        catalogue.create(
            {
                "asset_id": f"{0xC0FFEE + n:032x}",
                "owner": owner,
                "status": "READY",
                "filename": filename,
                **({"title": title} if title else {}),
                **({"search_text": searchable(title, filename)} if indexed else {}),
                "created_at": f"2026-11-20T00:00:0{n}Z",
                "updated_at": f"2026-11-20T00:00:0{n}Z",
            }
        )

    def found(*terms: str) -> list[str | None]:
        page = catalogue.list_by_owner(owner, limit=10, terms=list(terms))
        return [item.get("title") or item["filename"] for item in page.items]

    assert found("cafe") == ["Café du port", "cafe-terrace.MOV", "Café Interior"]
    assert found("cafe", "img") == ["Café Interior"]
    assert found("boats") == ["Harbour"]
    assert found("nowhere") == []
    assert len(catalogue.list_by_owner(owner, limit=10).items) == 4


def test_the_original_comes_back_as_the_version_ingest_probed(
    stack: LocalStack, client: LumiereClient, media: Media
) -> None:
    name = "Été 2026.wav"
    data = media.tone.read_bytes()
    ticket = client.request_upload(name, "audio/wav", len(data))
    asset_id = ticket["asset_id"]
    with pytest.raises(ApiError) as e:
        client.original(asset_id)  # nothing uploaded yet
    assert e.value.status == 409

    def post(body: bytes) -> None:
        form = ticket["upload"]
        r = requests.post(
            form["url"], data=form["fields"], files={"file": (name, body)}, timeout=30
        )
        assert r.status_code in (200, 201, 204), r.text

    post(data)
    process_all(stack)
    assert client.get_asset(asset_id)["status"] == "READY"
    # the same form posted again (it is valid until it expires) makes a second version
    # of the key; what the owner gets back is still the file that was processed
    post(b"RIFF" + b"\0" * 64)
    link = client.original(asset_id)
    assert (link["filename"], link["size"]) == (name, len(data))
    assert link["expires_at"] > time.time() + 60
    got = requests.get(link["url"], timeout=30)  # no token: the link is the permission
    assert got.status_code == 200
    assert got.content == data
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="_t_ 2026.wav"')
    assert "filename*=UTF-8''%C3%89t%C3%A9%202026.wav" in disposition
    assert client.delete_asset(asset_id) == 204
    with pytest.raises(ApiError) as e:
        client.original(asset_id)
    assert e.value.status == 404
