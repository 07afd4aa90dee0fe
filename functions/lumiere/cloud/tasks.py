"""SQS: hand work to the next function."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from lumiere.cloud.clients import client
from lumiere.config import Settings
from lumiere.errors import TransientError
from lumiere.pipeline.models import ImportTask, TranscodeTask
from lumiere.pipeline.plan import ANALYSIS


def send_part_tasks(settings: Settings, tasks: list[TranscodeTask]) -> None:
    """Fan out: the analysis part to AnalysisFunction's queue (OpenCV and the speech
    model live in that function's image only), every other part to TranscodeFunction's."""
    analysis = [t for t in tasks if t.part == ANALYSIS]
    media = [t for t in tasks if t.part != ANALYSIS]
    if media:
        send_tasks(settings.transcode_queue_url, media)
    if analysis:
        send_tasks(settings.analysis_queue_url, analysis)


def send_tasks(queue_url: str, tasks: list[TranscodeTask]) -> None:
    """One message per part, ten per request (SQS's batch limit)."""
    sqs = client("sqs")
    for start in range(0, len(tasks), 10):
        batch = tasks[start : start + 10]
        entries = [
            {
                "Id": str(i),
                "MessageBody": task.to_json(),
                "MessageAttributes": {
                    "task_id": {"DataType": "String", "StringValue": task.task_id}
                },
            }
            for i, task in enumerate(batch)
        ]
        try:
            out = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        except ClientError as e:
            raise TransientError("could not queue the transcode tasks") from e
        if out.get("Failed"):
            # Ingest is retried as a whole; duplicates of the parts that did go are
            # harmless (each part is idempotent).
            raise TransientError(f"SQS refused {len(out['Failed'])} transcode task(s)")


def send_import_task(queue_url: str, task: ImportTask) -> None:
    try:
        client("sqs").send_message(QueueUrl=queue_url, MessageBody=task.to_json())
    except (ClientError, BotoCoreError) as e:  # refused, or not reached at all
        raise TransientError("could not queue the import task") from e
