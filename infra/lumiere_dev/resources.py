"""Create the template's buckets, queues and tables in moto, and wire S3 -> SQS."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from lumiere_dev.template import StackSpec

_TABLE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
)


# CloudFormation spells some CORS fields differently from the S3 API.
_CORS_FIELDS = {"ExposedHeaders": "ExposeHeaders", "MaxAge": "MaxAgeSeconds", "Id": "ID"}


def _s3_cors_rule(rule: dict[str, Any]) -> dict[str, Any]:
    return {_CORS_FIELDS.get(k, k): v for k, v in rule.items()}


def create_resources(spec: StackSpec, session: Any) -> None:
    """Idempotent: running it against a stack that exists changes nothing."""
    endpoint = spec.context.endpoint_url
    s3 = session.client("s3", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    # Dead-letter queues first: a redrive policy must name a queue that exists.
    for queue in sorted(spec.queues.values(), key=lambda q: q.dlq_id is not None):
        attributes = {"VisibilityTimeout": str(queue.visibility_timeout)}
        if queue.dlq_id:
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": spec.queues[queue.dlq_id].arn,
                    "maxReceiveCount": queue.max_receive_count,
                }
            )
        sqs.create_queue(QueueName=queue.name, Attributes=attributes)
    for table in spec.tables.values():
        props = {k: v for k, v in table.properties.items() if k in _TABLE_KEYS}
        props.setdefault("BillingMode", "PAY_PER_REQUEST")
        try:
            dynamodb.create_table(TableName=table.name, **props)
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceInUseException":
                raise
    for bucket in spec.buckets.values():
        s3.create_bucket(Bucket=bucket.name)
        if bucket.versioned:
            s3.put_bucket_versioning(
                Bucket=bucket.name, VersioningConfiguration={"Status": "Enabled"}
            )
        if bucket.cors_rules:
            s3.put_bucket_cors(
                Bucket=bucket.name,
                CORSConfiguration={
                    "CORSRules": [
                        {_CORS_FIELDS.get(k, k): v for k, v in rule.items()}
                        for rule in bucket.cors_rules
                    ]
                },
            )
        configs = []
        for n in bucket.notifications:
            rules = [{"Name": "prefix", "Value": n.prefix}] if n.prefix else []
            if n.suffix:
                rules.append({"Name": "suffix", "Value": n.suffix})
            config: dict[str, Any] = {
                "QueueArn": spec.queues[n.queue_id].arn,
                "Events": list(n.events),
            }
            if rules:
                config["Filter"] = {"Key": {"FilterRules": rules}}
            configs.append(config)
        if configs:
            s3.put_bucket_notification_configuration(
                Bucket=bucket.name, NotificationConfiguration={"QueueConfigurations": configs}
            )
