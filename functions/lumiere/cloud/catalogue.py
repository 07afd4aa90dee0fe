"""The asset catalogue in DynamoDB. Every status change is a conditional write."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from lumiere.cloud.clients import resource
from lumiere.errors import StaleTransitionError, TransientError
from lumiere.pipeline.search_text import matches, searchable
from lumiere.pipeline.status import AssetStatus, allowed_from

_RETRYABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
}


def to_dynamo(value: Any) -> Any:
    """DynamoDB has no float type; numbers travel as Decimal."""
    return json.loads(json.dumps(value), parse_float=Decimal)


def from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    if isinstance(value, set):  # string sets (parts_done) travel as sorted lists
        return sorted(value)
    return value


def _raise_for(e: ClientError, asset_id: str, target: str) -> None:
    code = e.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        raise StaleTransitionError(f"asset {asset_id} cannot move to {target} now") from e
    if code in _RETRYABLE:
        raise TransientError(f"DynamoDB busy ({code})") from e
    raise e


# Index reads one listing request may make. Each read takes four times as many items as
# the last, up to MAX_READ_ITEMS: an unfiltered page costs one read of ``limit`` items,
# and a search for a word in none of 10,000 assets answers after 10 reads (an empty page
# with a next cursor), well inside API Gateway's 29 s.
READS_PER_PAGE = 10
MAX_READ_ITEMS = 1000


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    # The key to start after, or None on the last page.
    last_key: dict[str, Any] | None


class Catalogue:
    def __init__(self, table_name: str) -> None:
        self._table = resource("dynamodb").Table(table_name)

    def create(self, item: dict[str, Any]) -> None:
        try:
            self._table.put_item(
                Item=to_dynamo(item), ConditionExpression="attribute_not_exists(asset_id)"
            )
        except ClientError as e:
            _raise_for(e, item["asset_id"], AssetStatus.CREATED)

    def get(self, asset_id: str) -> dict[str, Any] | None:
        try:
            found = self._table.get_item(Key={"asset_id": asset_id}, ConsistentRead=True)
        except ClientError as e:
            _raise_for(e, asset_id, "read")
        item = found.get("Item")
        return from_dynamo(item) if item else None

    def transition(
        self, asset_id: str, target: AssetStatus, now: str, **fields: Any
    ) -> dict[str, Any]:
        """Move to ``target`` only from a status the machine allows; else StaleTransition."""
        sources = sorted(allowed_from(target))
        names = {"#status": "status", "#updated_at": "updated_at"}
        values: dict[str, Any] = {":target": target.value, ":now": now}
        sets = ["#status = :target", "#updated_at = :now"]
        for i, (name, value) in enumerate(sorted(fields.items())):
            names[f"#f{i}"] = name
            values[f":f{i}"] = value
            sets.append(f"#f{i} = :f{i}")
        placeholders = []
        for i, s in enumerate(sources):
            values[f":s{i}"] = s.value
            placeholders.append(f":s{i}")
        try:
            out = self._table.update_item(
                Key={"asset_id": asset_id},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=(
                    f"attribute_exists(asset_id) AND #status IN ({', '.join(placeholders)})"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_dynamo(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as e:
            _raise_for(e, asset_id, target)
        return from_dynamo(out["Attributes"])

    def set_visibility(self, asset_id: str, visibility: str, now: str) -> dict[str, Any]:
        """Change who may fetch the asset's files; refused (StaleTransition) once it is
        DELETED, so a late request cannot list a deleted asset as public again."""
        try:
            out = self._table.update_item(
                Key={"asset_id": asset_id},
                UpdateExpression="SET visibility = :v, #updated_at = :now",
                ConditionExpression="attribute_exists(asset_id) AND #status <> :deleted",
                ExpressionAttributeNames={"#status": "status", "#updated_at": "updated_at"},
                ExpressionAttributeValues={
                    ":v": visibility,
                    ":now": now,
                    ":deleted": AssetStatus.DELETED.value,
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as e:
            _raise_for(e, asset_id, f"visibility {visibility}")
        return from_dynamo(out["Attributes"])

    def set_details(
        self, asset_id: str, details: dict[str, str | None], now: str
    ) -> dict[str, Any]:
        """Set (or, for None, remove) the owner's title and passthrough and the search
        text; refused (StaleTransition) once the asset is DELETED, whose tombstone keeps
        none of them."""
        names = {"#status": "status", "#updated_at": "updated_at"}
        values: dict[str, Any] = {":now": now, ":deleted": AssetStatus.DELETED.value}
        sets, removes = ["#updated_at = :now"], []
        for i, (name, value) in enumerate(sorted(details.items())):
            names[f"#d{i}"] = name
            if value is None:
                removes.append(f"#d{i}")
            else:
                values[f":d{i}"] = value
                sets.append(f"#d{i} = :d{i}")
        update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            out = self._table.update_item(
                Key={"asset_id": asset_id},
                UpdateExpression=update,
                ConditionExpression="attribute_exists(asset_id) AND #status <> :deleted",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_dynamo(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as e:
            _raise_for(e, asset_id, "new details")
        return from_dynamo(out["Attributes"])

    def set_poster(
        self,
        asset_id: str,
        poster_key: str,
        poster_time: float | None,
        automatic_key: str,
        now: str,
    ) -> dict[str, Any]:
        """Point a READY asset at another poster (``poster_time`` None: the automatic
        one, whose key is kept as ``auto_poster``: the engines name it differently);
        refused (StaleTransition) unless it is READY, so a poster cannot be set on an
        asset deleted meanwhile."""
        update = "SET #outputs.#poster = :k, #auto_poster = :auto, #updated_at = :now"
        values: dict[str, Any] = {
            ":k": poster_key,
            ":auto": automatic_key,
            ":now": now,
            ":ready": AssetStatus.READY.value,
        }
        if poster_time is None:
            update += " REMOVE #poster_time"
        else:
            update += ", #poster_time = :t"
            values[":t"] = poster_time
        names = {
            "#status": "status",
            "#updated_at": "updated_at",
            "#outputs": "outputs",
            "#poster": "poster",
            "#poster_time": "poster_time",
            "#auto_poster": "auto_poster",
        }
        try:
            out = self._table.update_item(
                Key={"asset_id": asset_id},
                UpdateExpression=update,
                ConditionExpression="attribute_exists(asset_id) AND #status = :ready",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_dynamo(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as e:
            _raise_for(e, asset_id, "a new poster")
        return from_dynamo(out["Attributes"])

    def record_multipart_upload(self, asset_id: str, upload_id: str, part_size: int) -> None:
        """Bind one S3 multipart upload to a new asset (once: a second is refused)."""
        try:
            self._table.update_item(
                Key={"asset_id": asset_id},
                UpdateExpression="SET multipart_upload_id = :u, part_size = :p",
                ConditionExpression=(
                    "attribute_exists(asset_id) AND #status = :created"
                    " AND attribute_not_exists(multipart_upload_id)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":u": upload_id,
                    ":p": part_size,
                    ":created": AssetStatus.CREATED.value,
                },
            )
        except ClientError as e:
            _raise_for(e, asset_id, "multipart")

    def set_part_progress(self, asset_id: str, part: str, now: str, percent: int) -> None:
        """One part's progress; it only moves forward, and only while PROCESSING."""
        try:
            self._table.update_item(
                Key={"asset_id": asset_id},
                UpdateExpression="SET part_progress.#part = :p, #updated_at = :now",
                ConditionExpression=(
                    "#status = :processing AND (attribute_not_exists(part_progress.#part) "
                    "OR part_progress.#part < :p)"
                ),
                ExpressionAttributeNames={
                    "#status": "status",
                    "#updated_at": "updated_at",
                    "#part": part,
                },
                ExpressionAttributeValues={
                    ":p": percent,
                    ":now": now,
                    ":processing": AssetStatus.PROCESSING.value,
                },
            )
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if code != "ConditionalCheckFailedException":
                _raise_for(e, asset_id, "progress")

    def set_import_progress(
        self, asset_id: str, received: int, total: int | None, now: str
    ) -> bool:
        """How much of an import's file has arrived (``total``: what its server said,
        if it did); it only grows, and only while the asset waits for its file. False
        once the asset no longer waits (deleted or failed meanwhile): stop fetching."""
        progress = {"received": received, **({"total": total} if total is not None else {})}
        try:
            self._table.update_item(
                Key={"asset_id": asset_id},
                UpdateExpression="SET import_progress = :p, #updated_at = :now",
                ConditionExpression=(
                    "#status = :created AND (attribute_not_exists(import_progress) "
                    "OR import_progress.received < :r)"
                ),
                ExpressionAttributeNames={"#status": "status", "#updated_at": "updated_at"},
                ExpressionAttributeValues={
                    ":p": progress,
                    ":r": received,
                    ":now": now,
                    ":created": AssetStatus.CREATED.value,
                },
            )
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if code != "ConditionalCheckFailedException":
                _raise_for(e, asset_id, "import progress")
            current = self.get(asset_id)  # not grown, or not waiting any more?
            return current is not None and current.get("status") == AssetStatus.CREATED.value
        return True

    def complete_part(
        self, asset_id: str, part: str, now: str, output: dict[str, Any]
    ) -> dict[str, Any]:
        """Record a finished part (fan-in). One atomic write stores its output and adds it
        to ``parts_done``; the returned item tells the caller whether it finished the set.
        StaleTransition if the asset is no longer PROCESSING (failed or deleted)."""
        try:
            out = self._table.update_item(
                Key={"asset_id": asset_id},
                UpdateExpression=(
                    "SET part_outputs.#part = :out, part_progress.#part = :done, "
                    "#updated_at = :now ADD parts_done :parts"
                ),
                ConditionExpression="#status = :processing",
                ExpressionAttributeNames={
                    "#status": "status",
                    "#updated_at": "updated_at",
                    "#part": part,
                },
                ExpressionAttributeValues={
                    ":out": to_dynamo(output),
                    ":done": 100,
                    ":now": now,
                    ":parts": {part},
                    ":processing": AssetStatus.PROCESSING.value,
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as e:
            _raise_for(e, asset_id, f"part {part} done")
        return from_dynamo(out["Attributes"])

    def list_by_owner(
        self,
        owner: str,
        *,
        limit: int,
        start_after: dict[str, Any] | None = None,
        status: str | None = None,
        kind: str | None = None,
        terms: list[str] | None = None,
    ) -> Page:
        """One owner's assets, newest first, optionally filtered (``terms``: folded words
        that ``search_text`` must all contain). Filters apply after the index read, so
        this keeps reading until the page is full, the index ends or READS_PER_PAGE reads
        are spent: a filtered page may then hold fewer than ``limit`` items, or none, and
        still have a next key (a rare word in a large library does not hold it up)."""
        filters, names, values = [], {"#owner": "owner"}, {":owner": owner}
        for attr, value in (("status", status), ("kind", kind)):
            if value:
                names[f"#{attr}"] = attr
                values[f":{attr}"] = value
                filters.append(f"#{attr} = :{attr}")
        if terms:
            names["#search"] = "search_text"
            values.update({f":q{i}": term for i, term in enumerate(terms)})
            found = " AND ".join(f"contains(#search, :q{i})" for i in range(len(terms)))
            # Records written before search_text existed have none: they come back too,
            # and are matched here on the same folded words (_unindexed_match).
            filters.append(f"(({found}) OR attribute_not_exists(#search))")
        if not status:  # tombstones are never listed
            names["#status"] = "status"
            values[":deleted"] = "DELETED"
            filters.append("#status <> :deleted")
        params: dict[str, Any] = {
            "IndexName": "by_owner",
            "KeyConditionExpression": "#owner = :owner",
            "FilterExpression": " AND ".join(filters),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
        }
        items: list[dict[str, Any]] = []
        last_key = start_after
        for read in range(READS_PER_PAGE):
            params["Limit"] = min(limit * 4**read, MAX_READ_ITEMS)
            if last_key:
                params["ExclusiveStartKey"] = last_key
            try:
                out = self._table.query(**params)
            except ClientError as e:
                _raise_for(e, owner, "list")
            for item in out.get("Items", []):
                record = from_dynamo(item)
                if terms and not _unindexed_match(record, terms):
                    continue
                items.append(record)
                if len(items) == limit:
                    return Page(items, _index_key(items[-1]))
            last_key = out.get("LastEvaluatedKey")
            if not last_key:
                return Page(items, None)
        return Page(items, _index_key(from_dynamo(last_key)))

    def tombstone(self, asset_id: str, now: str, expires_at: int) -> None:
        """DELETED, with the probe and outputs dropped; the record itself expires later.
        The wrapped HLS key goes at once (nothing it decrypts is left), and visibility
        too (the public index was withdrawn before), so a repeated DELETE does not
        invalidate again."""
        try:
            self._table.update_item(
                Key={"asset_id": asset_id},
                UpdateExpression=(
                    "SET #status = :deleted, #updated_at = :now, expires_at = :exp "
                    "REMOVE probe, outputs, #source, #error, progress, part_outputs, "
                    "part_progress, parts_done, #plan, content_key, visibility, "
                    "title, passthrough, search_text, source_url, import_progress"
                ),
                ConditionExpression="attribute_exists(asset_id)",
                ExpressionAttributeNames={
                    "#status": "status",
                    "#updated_at": "updated_at",
                    "#source": "source",
                    "#error": "error",
                    "#plan": "plan",
                },
                ExpressionAttributeValues={":deleted": "DELETED", ":now": now, ":exp": expires_at},
            )
        except ClientError as e:
            _raise_for(e, asset_id, "DELETED")


def _unindexed_match(record: dict[str, Any], terms: list[str]) -> bool:
    """True for a record the filter matched on its search_text, and for an older record
    without one whose title and file name hold every term."""
    if "search_text" in record:
        return True
    return matches(searchable(record.get("title"), record.get("filename")), terms)


def _index_key(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in ("asset_id", "owner", "created_at")}
