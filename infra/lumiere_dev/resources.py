"""Create the template's queues, tables and buckets in moto, and wire S3 -> SQS.

Idempotent: running it again against the same server changes nothing, so a developer can
point a second `lumiere dev` at a moto that is already up.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError

from lumiere_dev.template import BucketSpec, KeyValueStoreSpec, QueueSpec, StackSpec, TableSpec

# CloudFormation spells some CORS fields differently from the S3 API.
_CORS_FIELDS = {"ExposedHeaders": "ExposeHeaders", "MaxAge": "MaxAgeSeconds", "Id": "ID"}


def create_resources(spec: StackSpec, session: boto3.session.Session) -> None:
    endpoint = spec.context.endpoint_url
    sqs = session.client("sqs", endpoint_url=endpoint)
    # Dead-letter queues first: a redrive policy must name a queue that exists.
    for queue in sorted(spec.queues.values(), key=lambda q: q.redrive is not None):
        create_queue(sqs, queue, spec)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    for table in spec.tables.values():
        create_table(dynamodb, table)
    for store in spec.key_value_stores.values():
        create_table(dynamodb, key_value_store_table(store))
    s3 = session.client("s3", endpoint_url=endpoint)
    for bucket in spec.buckets.values():
        create_bucket(s3, bucket, spec)
    kms = session.client("kms", endpoint_url=endpoint)
    existing = {a["AliasName"] for a in kms.list_aliases().get("Aliases", [])}
    for alias in spec.kms_aliases:
        if alias not in existing:  # a key per alias, as the template pairs them
            key_id = kms.create_key(Description=f"local stand-in for {alias}")["KeyMetadata"]
            kms.create_alias(AliasName=alias, TargetKeyId=key_id["KeyId"])


def queue_attributes(queue: QueueSpec, spec: StackSpec) -> dict[str, str]:
    attributes = {"VisibilityTimeout": str(queue.visibility_timeout)}
    if queue.message_retention_period is not None:
        attributes["MessageRetentionPeriod"] = str(queue.message_retention_period)
    if queue.fifo:
        attributes["FifoQueue"] = "true"
    if queue.redrive:
        attributes["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": spec.queues[queue.redrive.dlq_logical_id].arn,
                "maxReceiveCount": queue.redrive.max_receive_count,
            }
        )
    return attributes


def create_queue(sqs: Any, queue: QueueSpec, spec: StackSpec) -> None:
    url = sqs.create_queue(QueueName=queue.name, Attributes=queue_attributes(queue, spec))[
        "QueueUrl"
    ]
    if url != queue.url:  # the runner and the functions use the URL the template resolves to
        raise RuntimeError(f"moto named {queue.logical_id} {url}, the template {queue.url}")


def create_table(dynamodb: Any, table: TableSpec) -> None:
    params: dict[str, Any] = {
        "TableName": table.name,
        "KeySchema": table.key_schema,
        "AttributeDefinitions": table.attribute_definitions,
        "BillingMode": table.billing_mode,
    }
    if table.global_secondary_indexes:
        params["GlobalSecondaryIndexes"] = table.global_secondary_indexes
    if table.provisioned_throughput:
        params["ProvisionedThroughput"] = table.provisioned_throughput
    try:
        dynamodb.create_table(**params)
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceInUseException":
            raise


def key_value_store_table(store: KeyValueStoreSpec) -> TableSpec:
    """The stand-in for a CloudFront KeyValueStore: a table keyed by ``key``, as
    lumiere.cloud.public_assets.TablePublicAssets reads and writes it."""
    return TableSpec(
        logical_id=store.logical_id,
        name=store.name,
        arn="",
        key_schema=[{"AttributeName": "key", "KeyType": "HASH"}],
        attribute_definitions=[{"AttributeName": "key", "AttributeType": "S"}],
    )


def create_bucket(s3: Any, bucket: BucketSpec, spec: StackSpec) -> None:
    params: dict[str, Any] = {"Bucket": bucket.name}
    if spec.context.region != "us-east-1":  # the one region S3 refuses a constraint for
        params["CreateBucketConfiguration"] = {"LocationConstraint": spec.context.region}
    try:
        s3.create_bucket(**params)
    except ClientError as e:
        if e.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise
    if bucket.versioned:
        s3.put_bucket_versioning(Bucket=bucket.name, VersioningConfiguration={"Status": "Enabled"})
    if bucket.cors_rules:
        rules = [{_CORS_FIELDS.get(k, k): v for k, v in r.items()} for r in bucket.cors_rules]
        s3.put_bucket_cors(Bucket=bucket.name, CORSConfiguration={"CORSRules": rules})
    wanted = queue_configurations(bucket, spec)
    current = s3.get_bucket_notification_configuration(Bucket=bucket.name)
    # Every put makes S3 (and moto) send an s3:TestEvent; don't repeat one needlessly.
    if wanted and _comparable(current.get("QueueConfigurations", [])) != _comparable(wanted):
        s3.put_bucket_notification_configuration(
            Bucket=bucket.name, NotificationConfiguration={"QueueConfigurations": wanted}
        )


def queue_configurations(bucket: BucketSpec, spec: StackSpec) -> list[dict[str, Any]]:
    configs = []
    for n in bucket.notifications:
        config: dict[str, Any] = {
            "QueueArn": spec.queues[n.queue_logical_id].arn,
            "Events": list(n.events),
        }
        rules = [
            {"Name": name, "Value": value}
            for name, value in (("prefix", n.prefix), ("suffix", n.suffix))
            if value
        ]
        if rules:
            config["Filter"] = {"Key": {"FilterRules": rules}}
        configs.append(config)
    return configs


def _comparable(configs: list[dict[str, Any]]) -> list[str]:
    def canonical(c: dict[str, Any]) -> str:
        rules = (c.get("Filter") or {}).get("Key", {}).get("FilterRules", [])
        return json.dumps(
            [
                c["QueueArn"],
                sorted(c["Events"]),
                sorted((r["Name"].lower(), r["Value"]) for r in rules),
            ]
        )

    return sorted(canonical(c) for c in configs)
