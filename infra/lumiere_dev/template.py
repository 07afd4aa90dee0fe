"""Read template.yaml the way CloudFormation would, enough to build the stack locally.

Names and wiring come from the template only: the local stack has no second list of
resources to drift from the real one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's short-form intrinsics."""


def _tag(name: str, split_dots: bool = False):
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if split_dots:
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


CfnLoader.add_constructor("!Ref", _tag("Ref"))
CfnLoader.add_constructor("!GetAtt", _tag("Fn::GetAtt", split_dots=True))
CfnLoader.add_constructor("!Sub", _tag("Fn::Sub"))


def load_template(path: Path) -> dict[str, Any]:
    return dict(yaml.load(path.read_text(encoding="utf-8"), Loader=CfnLoader))  # noqa: S506


@dataclass(frozen=True)
class StackContext:
    stack_name: str = "lumiere-local"
    account_id: str = "123456789012"
    region: str = "us-east-1"
    endpoint_url: str = "http://127.0.0.1:8600"

    @property
    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::StackName": self.stack_name,
            "AWS::AccountId": self.account_id,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }


@dataclass(frozen=True)
class QueueNotification:
    queue_id: str
    events: tuple[str, ...]
    prefix: str = ""
    suffix: str = ""


@dataclass(frozen=True)
class BucketSpec:
    logical_id: str
    name: str
    notifications: tuple[QueueNotification, ...] = ()
    cors_rules: tuple[dict[str, Any], ...] = ()
    versioned: bool = False


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    name: str
    url: str
    arn: str
    visibility_timeout: int = 30
    dlq_id: str | None = None
    max_receive_count: int | None = None


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    name: str
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SqsEventSpec:
    queue_id: str
    batch_size: int
    report_batch_item_failures: bool


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str
    timeout: int
    memory: int
    environment: dict[str, str]
    sqs_events: tuple[SqsEventSpec, ...] = ()
    api_events: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class StackSpec:
    context: StackContext
    buckets: dict[str, BucketSpec]
    queues: dict[str, QueueSpec]
    tables: dict[str, TableSpec]
    functions: dict[str, FunctionSpec]

    def function_environment(self) -> dict[str, str]:
        """One process runs every handler, so they share one environment: a variable two
        functions set differently would be silently wrong for one of them."""
        merged: dict[str, str] = {}
        for fn in self.functions.values():
            for name, value in fn.environment.items():
                if merged.get(name, value) != value:
                    raise ValueError(
                        f"{name} differs between functions ({merged[name]!r} vs {value!r}); "
                        "the local runner shares one environment"
                    )
                merged[name] = value
        return merged


class Resolver:
    """Evaluates Ref, Fn::GetAtt and Fn::Sub against the local stack."""

    def __init__(self, template: dict[str, Any], ctx: StackContext) -> None:
        self.resources: dict[str, Any] = template.get("Resources", {})
        self.parameters: dict[str, Any] = template.get("Parameters", {})
        self.ctx = ctx

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                return self.get_att(*(arg if isinstance(arg, list) else arg.split(".", 1)))
            if key == "Fn::Sub":
                return self.sub(arg)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _type(self, logical_id: str) -> str:
        return str(self.resources[logical_id]["Type"])

    def _props(self, logical_id: str) -> dict[str, Any]:
        return dict(self.resources[logical_id].get("Properties") or {})

    def physical_name(self, logical_id: str) -> str:
        kind = self._type(logical_id)
        props = self._props(logical_id)
        if kind == "AWS::S3::Bucket":
            given = props.get("BucketName")
            return (
                str(self.resolve(given)) if given else f"{self.ctx.stack_name}-{logical_id.lower()}"
            )
        if kind == "AWS::DynamoDB::Table" and props.get("TableName"):
            return str(self.resolve(props["TableName"]))
        if kind == "AWS::SQS::Queue" and props.get("QueueName"):
            return str(self.resolve(props["QueueName"]))
        return f"{self.ctx.stack_name}-{logical_id}"

    def ref(self, name: str) -> str:
        if name in self.ctx.pseudo:
            return self.ctx.pseudo[name]
        if name in self.parameters:
            return str(self.parameters[name].get("Default", ""))
        if name not in self.resources:
            raise KeyError(f"!Ref {name}: no such parameter or resource")
        physical = self.physical_name(name)
        if self._type(name) == "AWS::SQS::Queue":
            return f"{self.ctx.endpoint_url}/{self.ctx.account_id}/{physical}"
        return physical

    def get_att(self, name: str, attribute: str) -> str:
        kind, physical = self._type(name), self.physical_name(name)
        service = {
            "AWS::SQS::Queue": "sqs",
            "AWS::S3::Bucket": "s3",
            "AWS::DynamoDB::Table": "dynamodb",
        }
        if attribute == "Arn" and kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{physical}"
        if attribute == "Arn" and kind == "AWS::DynamoDB::Table":
            return f"arn:aws:dynamodb:{self.ctx.region}:{self.ctx.account_id}:table/{physical}"
        if attribute == "Arn" and kind in service:
            return f"arn:aws:{service[kind]}:{self.ctx.region}:{self.ctx.account_id}:{physical}"
        if attribute in ("QueueName", "BucketName"):
            return physical
        raise KeyError(f"!GetAtt {name}.{attribute} is not supported locally")

    def sub(self, arg: str | list[Any]) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name:
                return self.get_att(*name.split(".", 1))
            return self.ref(name)

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def arn_to_id(self, arn_value: Any) -> str:
        """The logical id a `!GetAtt X.Arn` / `!Ref X` points at."""
        if isinstance(arn_value, dict):
            inner = next(iter(arn_value.values()))
            return str(inner[0] if isinstance(inner, list) else inner)
        raise ValueError(f"cannot tell which resource {arn_value!r} names")
