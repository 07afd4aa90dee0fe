"""SQS: hand work to the next function."""

from __future__ import annotations

from botocore.exceptions import ClientError

from lumiere.cloud.clients import client
from lumiere.errors import TransientError
from lumiere.pipeline.models import TranscodeTask


def send_transcode_task(queue_url: str, task: TranscodeTask) -> None:
    try:
        client("sqs").send_message(
            QueueUrl=queue_url,
            MessageBody=task.to_json(),
            MessageAttributes={"task_id": {"DataType": "String", "StringValue": task.task_id}},
        )
    except ClientError as e:
        raise TransientError("could not queue the transcode task") from e
