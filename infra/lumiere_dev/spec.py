"""Turn template.yaml into the specs the local stack builds and runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lumiere_dev.template import (
    BucketSpec,
    FunctionSpec,
    QueueNotification,
    QueueSpec,
    Resolver,
    SqsEventSpec,
    StackContext,
    StackSpec,
    TableSpec,
    load_template,
)


def _filters(notification: dict[str, Any]) -> tuple[str, str]:
    prefix = suffix = ""
    rules = ((notification.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
    for rule in rules:
        if rule["Name"].lower() == "prefix":
            prefix = rule["Value"]
        elif rule["Name"].lower() == "suffix":
            suffix = rule["Value"]
    return prefix, suffix


def _bucket(r: Resolver, logical_id: str, props: dict[str, Any]) -> BucketSpec:
    notifications = []
    for q in (props.get("NotificationConfiguration") or {}).get("QueueConfigurations") or []:
        prefix, suffix = _filters(q)
        notifications.append(
            QueueNotification(
                queue_id=r.arn_to_id(q["Queue"]),
                events=(q["Event"],),
                prefix=prefix,
                suffix=suffix,
            )
        )
    cors = (props.get("CorsConfiguration") or {}).get("CorsRules") or []
    return BucketSpec(
        logical_id=logical_id,
        name=r.physical_name(logical_id),
        notifications=tuple(notifications),
        cors_rules=tuple(cors),
        versioned=(props.get("VersioningConfiguration") or {}).get("Status") == "Enabled",
    )


def _queue(r: Resolver, logical_id: str, props: dict[str, Any]) -> QueueSpec:
    redrive = props.get("RedrivePolicy") or {}
    return QueueSpec(
        logical_id=logical_id,
        name=r.physical_name(logical_id),
        url=r.ref(logical_id),
        arn=r.get_att(logical_id, "Arn"),
        visibility_timeout=int(props.get("VisibilityTimeout", 30)),
        dlq_id=r.arn_to_id(redrive["deadLetterTargetArn"]) if redrive else None,
        max_receive_count=int(redrive["maxReceiveCount"]) if redrive else None,
    )


def _function(
    r: Resolver, logical_id: str, props: dict[str, Any], globals_: dict[str, Any]
) -> FunctionSpec:
    env = {
        **((globals_.get("Environment") or {}).get("Variables") or {}),
        **((props.get("Environment") or {}).get("Variables") or {}),
    }
    sqs, api = [], []
    for event in (props.get("Events") or {}).values():
        p = event.get("Properties") or {}
        if event["Type"] == "SQS":
            sqs.append(
                SqsEventSpec(
                    queue_id=r.arn_to_id(p["Queue"]),
                    batch_size=int(p.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in (p.get("FunctionResponseTypes") or []),
                )
            )
        elif event["Type"] == "Api":
            api.append((p["Path"], p["Method"].upper()))
    return FunctionSpec(
        logical_id=logical_id,
        handler=props["Handler"],
        timeout=int(props.get("Timeout", globals_.get("Timeout", 3))),
        memory=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
        environment={k: str(r.resolve(v)) for k, v in env.items()},
        sqs_events=tuple(sqs),
        api_events=tuple(api),
    )


def read_stack(template_path: Path, ctx: StackContext) -> StackSpec:
    template = load_template(template_path)
    r = Resolver(template, ctx)
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    buckets, queues, tables, functions = {}, {}, {}, {}
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties") or {}
        kind = resource["Type"]
        if kind == "AWS::S3::Bucket":
            buckets[logical_id] = _bucket(r, logical_id, props)
        elif kind == "AWS::SQS::Queue":
            queues[logical_id] = _queue(r, logical_id, props)
        elif kind == "AWS::DynamoDB::Table":
            tables[logical_id] = TableSpec(logical_id, r.physical_name(logical_id), props)
        elif kind == "AWS::Serverless::Function":
            functions[logical_id] = _function(r, logical_id, props, globals_)
    return StackSpec(ctx, buckets, queues, tables, functions)
