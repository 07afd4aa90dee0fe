"""template.yaml as the local stack sees it: what to create and what to run.

Names and wiring come from the template only, so the local stack has no second list of
resources to drift from the deployed one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from lumiere_dev.cfn import CfnLoader, Resolver, StackContext, as_string, load_template

__all__ = [
    "BucketSpec",
    "CfnLoader",
    "FunctionSpec",
    "KeyValueStoreSpec",
    "QueueNotification",
    "QueueSpec",
    "Redrive",
    "Resolver",
    "SqsEventSpec",
    "StackContext",
    "StackSpec",
    "TableSpec",
    "load_template",
    "read_stack",
]


@dataclass(frozen=True)
class QueueNotification:
    queue_logical_id: str
    events: list[str]
    prefix: str = ""
    suffix: str = ""

    @property
    def queue_id(self) -> str:
        return self.queue_logical_id


@dataclass(frozen=True)
class BucketSpec:
    logical_id: str
    name: str
    notifications: list[QueueNotification] = field(default_factory=list)
    cors_rules: list[dict[str, Any]] = field(default_factory=list)  # CloudFormation spelling
    versioned: bool = False


@dataclass(frozen=True)
class KeyValueStoreSpec:
    """A CloudFront KeyValueStore; locally, a DynamoDB table of the same name stands in
    for it (moto has no cloudfront-keyvaluestore)."""

    logical_id: str
    name: str
    arn: str


class Redrive(NamedTuple):
    dlq_logical_id: str
    max_receive_count: int


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    name: str
    url: str
    arn: str
    visibility_timeout: int = 30
    redrive: Redrive | None = None
    message_retention_period: int | None = None
    fifo: bool = False

    @property
    def dlq_id(self) -> str | None:
        return self.redrive.dlq_logical_id if self.redrive else None

    @property
    def max_receive_count(self) -> int | None:
        return self.redrive.max_receive_count if self.redrive else None


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    name: str
    arn: str
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]
    global_secondary_indexes: list[dict[str, Any]] = field(default_factory=list)
    billing_mode: str = "PAY_PER_REQUEST"
    provisioned_throughput: dict[str, int] | None = None


@dataclass(frozen=True)
class SqsEventSpec:
    queue_logical_id: str
    batch_size: int = 10
    report_batch_item_failures: bool = False

    @property
    def queue_id(self) -> str:
        return self.queue_logical_id


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    handler: str  # dotted "module.attr", importable from the CodeUri
    timeout: int
    memory: int
    environment: dict[str, str]  # Globals merged with the function's own, resolved
    sqs_events: list[SqsEventSpec] = field(default_factory=list)
    api_events: list[tuple[str, str]] = field(default_factory=list)  # (path, METHOD)
    # Api events marked `Auth: {Authorizer: NONE}`: open even under a default authorizer.
    public_api_events: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class StackSpec:
    context: StackContext
    buckets: dict[str, BucketSpec]
    queues: dict[str, QueueSpec]
    tables: dict[str, TableSpec]
    functions: dict[str, FunctionSpec]
    # The implicit API's DefaultAuthorizer (Globals.Api.Auth), if it has one.
    api_authorizer: str | None = None
    # CloudFront public keys in a key group ({key id: PEM}): the CDN's trusted signers.
    cdn_public_keys: dict[str, str] = field(default_factory=dict)
    # CloudFront KeyValueStores (the ids of public assets the CDN serves unsigned).
    key_value_stores: dict[str, KeyValueStoreSpec] = field(default_factory=dict)
    # KMS key aliases ("alias/..."): moto gets a key under each.
    kms_aliases: list[str] = field(default_factory=list)

    def bucket_named(self, name: str) -> BucketSpec | None:
        return next((b for b in self.buckets.values() if b.name == name), None)


def _key_filter(notification: dict[str, Any]) -> dict[str, str]:
    rules = ((notification.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
    return {str(rule["Name"]).lower(): str(rule["Value"]) for rule in rules}


def _bucket(r: Resolver, logical_id: str, props: dict[str, Any]) -> BucketSpec:
    configs = (props.get("NotificationConfiguration") or {}).get("QueueConfigurations") or []
    notifications = [
        QueueNotification(
            queue_logical_id=r.target_id(c["Queue"]),
            events=[c["Event"]],
            prefix=_key_filter(c).get("prefix", ""),
            suffix=_key_filter(c).get("suffix", ""),
        )
        for c in configs
    ]
    cors = (props.get("CorsConfiguration") or {}).get("CorsRules") or []
    versioned = (props.get("VersioningConfiguration") or {}).get("Status") == "Enabled"
    return BucketSpec(
        logical_id, r.physical_name(logical_id), notifications, r.resolve(cors), versioned
    )


def _queue(r: Resolver, logical_id: str, props: dict[str, Any]) -> QueueSpec:
    redrive = props.get("RedrivePolicy")
    retention = props.get("MessageRetentionPeriod")
    return QueueSpec(
        logical_id=logical_id,
        name=r.physical_name(logical_id),
        url=r.ref(logical_id),
        arn=r.get_att(logical_id, "Arn"),
        visibility_timeout=int(props.get("VisibilityTimeout", 30)),
        redrive=Redrive(
            r.target_id(redrive["deadLetterTargetArn"]), int(redrive["maxReceiveCount"])
        )
        if redrive
        else None,
        message_retention_period=int(retention) if retention is not None else None,
        fifo=bool(props.get("FifoQueue", False)),
    )


def _table(r: Resolver, logical_id: str, props: dict[str, Any]) -> TableSpec:
    return TableSpec(
        logical_id=logical_id,
        name=r.physical_name(logical_id),
        arn=r.get_att(logical_id, "Arn"),
        key_schema=r.resolve(props["KeySchema"]),
        attribute_definitions=r.resolve(props["AttributeDefinitions"]),
        global_secondary_indexes=r.resolve(props.get("GlobalSecondaryIndexes") or []),
        billing_mode=str(props.get("BillingMode", "PROVISIONED")),
        provisioned_throughput=r.resolve(props.get("ProvisionedThroughput")),
    )


def _function(
    r: Resolver, logical_id: str, props: dict[str, Any], globals_: dict[str, Any]
) -> FunctionSpec:
    env = {
        **((globals_.get("Environment") or {}).get("Variables") or {}),
        **((props.get("Environment") or {}).get("Variables") or {}),
    }
    sqs, api, public = [], [], []
    for event in (props.get("Events") or {}).values():
        p = event.get("Properties") or {}
        if event["Type"] == "SQS":
            sqs.append(
                SqsEventSpec(
                    queue_logical_id=r.target_id(p["Queue"]),
                    batch_size=int(p.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in (p.get("FunctionResponseTypes") or []),
                )
            )
        elif event["Type"] in ("Api", "HttpApi"):
            route = (str(p.get("Path", "/")), str(p.get("Method", "ANY")).upper())
            api.append(route)
            if (p.get("Auth") or {}).get("Authorizer") == "NONE":
                public.append(route)
    setting = {**globals_, **props}  # SAM: a function's own setting wins over Globals
    if setting.get("PackageType") == "Image":
        # A container image names its handler as the image's command (the runtime
        # interface client's argument).
        handler = str(((setting.get("ImageConfig") or {}).get("Command") or [""])[0])
    else:
        handler = str(setting["Handler"])
    return FunctionSpec(
        logical_id=logical_id,
        name=r.physical_name(logical_id),
        handler=handler,
        timeout=int(setting.get("Timeout", 3)),  # SAM's defaults
        memory=int(setting.get("MemorySize", 128)),
        environment={k: as_string(r.resolve(v)) for k, v in env.items()},
        sqs_events=sqs,
        api_events=api,
        public_api_events=public,
    )


def read_stack(template_path: Path, ctx: StackContext | None = None) -> StackSpec:
    ctx = ctx or StackContext()
    template = load_template(template_path)
    r = Resolver(template, ctx)
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    api_auth = ((template.get("Globals") or {}).get("Api") or {}).get("Auth") or {}
    spec = StackSpec(
        ctx,
        buckets={},
        queues={},
        tables={},
        functions={},
        api_authorizer=api_auth.get("DefaultAuthorizer"),
    )
    for logical_id, resource in template["Resources"].items():
        if not r.exists(logical_id):
            continue
        props = resource.get("Properties") or {}
        kind = resource["Type"]
        if kind == "AWS::S3::Bucket":
            spec.buckets[logical_id] = _bucket(r, logical_id, props)
        elif kind == "AWS::SQS::Queue":
            spec.queues[logical_id] = _queue(r, logical_id, props)
        elif kind == "AWS::DynamoDB::Table":
            spec.tables[logical_id] = _table(r, logical_id, props)
        elif kind == "AWS::Serverless::Function":
            spec.functions[logical_id] = _function(r, logical_id, props, globals_)
        elif kind == "AWS::KMS::Alias":
            spec.kms_aliases.append(r.physical_name(logical_id))
        elif kind == "AWS::CloudFront::KeyValueStore":
            spec.key_value_stores[logical_id] = KeyValueStoreSpec(
                logical_id, r.physical_name(logical_id), r.get_att(logical_id, "Arn")
            )
        elif kind == "AWS::CloudFront::KeyGroup":
            for item in (props.get("KeyGroupConfig") or {}).get("Items") or []:
                key_id = r.target_id(item)
                config = r.props(key_id).get("PublicKeyConfig") or {}
                spec.cdn_public_keys[r.ref(key_id)] = as_string(r.resolve(config["EncodedKey"]))
    return spec
