"""The local stack's moto server: DynamoDB requests one at a time (moto's item writes are
not atomic), everything else concurrent."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from lumiere_dev.moto_server import LocalMotoServer, SerialDynamoDB
from lumiere_dev.stack import reserve_port

SLOW_MS = 40


def peak_concurrency(target: str, requests: int = 4) -> int:
    """The most requests with this X-Amz-Target the middleware let run at once, through
    an app that takes SLOW_MS per request."""
    lock = threading.Lock()
    state = {"active": 0, "peak": 0}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        with lock:
            state["active"] += 1
            state["peak"] = max(state["peak"], state["active"])
        time.sleep(SLOW_MS / 1000)
        start_response("200 OK", [])
        # The body is produced lazily, as moto's is: the lock must cover it too.
        yield b"{"
        time.sleep(SLOW_MS / 1000)
        with lock:
            state["active"] -= 1
        yield b"}"

    wrapped = SerialDynamoDB(app)
    bodies: list[bytes] = []

    def call() -> None:
        bodies.append(b"".join(wrapped({"HTTP_X_AMZ_TARGET": target}, lambda *a: None)))

    threads = [threading.Thread(target=call) for _ in range(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bodies == [b"{}"] * requests
    return state["peak"]


def test_dynamodb_requests_run_one_at_a_time() -> None:
    assert peak_concurrency("DynamoDB_20120810.UpdateItem") == 1
    assert peak_concurrency("DynamoDBStreams_20120810.GetRecords") == 1


def test_other_services_stay_concurrent() -> None:
    assert peak_concurrency("AmazonSQS.ReceiveMessage") == 4
    assert peak_concurrency("") == 4  # S3 and other REST calls carry no target


@pytest.fixture
def moto() -> Iterator[str]:
    holder = reserve_port("127.0.0.1")
    port = holder.getsockname()[1]
    server = LocalMotoServer("127.0.0.1", port)
    server.start()
    holder.close()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_concurrent_first_adds_to_a_set_all_land_while_an_sqs_long_poll_waits(
    moto: str,
) -> None:
    """The fan-in's write: parts finishing together each ADD themselves to a set that
    does not exist yet. Meanwhile an SQS long poll holds a request open: DynamoDB
    must not queue behind it."""
    ddb = client(moto, "dynamodb")
    ddb.create_table(
        TableName="assets",
        KeySchema=[{"AttributeName": "asset_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "asset_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sqs = client(moto, "sqs")
    queue = sqs.create_queue(QueueName="idle")["QueueUrl"]
    polled: dict[str, Any] = {}
    # The longest poll SQS allows, so the writes have time enough on a loaded machine;
    # a message ends it once they are done.
    poll = threading.Thread(
        target=lambda: polled.update(sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20))
    )
    poll.start()
    writers = 6
    clients = [client(moto, "dynamodb") for _ in range(writers)]
    for trial in range(10):
        asset_id = f"a{trial}"
        ddb.put_item(
            TableName="assets", Item={"asset_id": {"S": asset_id}, "part_outputs": {"M": {}}}
        )
        barrier = threading.Barrier(writers)

        def finish(n: int, asset_id: str = asset_id, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            clients[n].update_item(
                TableName="assets",
                Key={"asset_id": {"S": asset_id}},
                UpdateExpression="SET part_outputs.#p = :o ADD parts_done :p",
                ExpressionAttributeNames={"#p": f"part{n}"},
                ExpressionAttributeValues={":o": {"S": "x" * 500}, ":p": {"SS": [f"part{n}"]}},
            )

        with ThreadPoolExecutor(writers) as pool:
            list(pool.map(finish, range(writers)))  # re-raises a failed write
        item = ddb.get_item(TableName="assets", Key={"asset_id": {"S": asset_id}})["Item"]
        assert sorted(item["parts_done"]["SS"]) == [f"part{n}" for n in range(writers)]
        assert len(item["part_outputs"]["M"]) == writers
    assert poll.is_alive()  # the writes did not wait for the long poll
    sqs.send_message(QueueUrl=queue, MessageBody="done")
    poll.join(timeout=10)
    # the poll was still waiting when the message came, and got it
    assert [m["Body"] for m in polled.get("Messages", [])] == ["done"]
