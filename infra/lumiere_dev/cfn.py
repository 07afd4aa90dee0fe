"""The CloudFormation language, as far as the local stack needs it: loading a template
with its short-form tags, and evaluating Ref / Fn::GetAtt / Fn::Sub / Fn::If (with the
template's Conditions) against a local stack.

Physical names follow one rule, so a name can be computed without asking AWS:
``{stack}-{LogicalId}`` (lower-cased for buckets, whose names must be), unless the
template gives the name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# libyaml's loader where PyYAML was built with it: the template is read by every local
# stack a test starts, and the pure-Python parser took 0.7 s each time.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CfnLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """SafeLoader that reads CloudFormation's short-form intrinsics as their long form."""


def _construct(long_name: str, split_dots: bool = False) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if split_dots:  # !GetAtt A.B is shorthand for [A, B]; only the first dot splits
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {long_name: value}

    return construct


CfnLoader.add_constructor("!Ref", _construct("Ref"))
CfnLoader.add_constructor("!Condition", _construct("Condition"))
CfnLoader.add_constructor("!GetAtt", _construct("Fn::GetAtt", split_dots=True))
# Loaded even though only some are evaluated, so a template using them still parses.
for _name in (
    "Sub", "Join", "Select", "Split", "If", "Equals", "And", "Or", "Not",
    "FindInMap", "GetAZs", "ImportValue", "Base64", "Cidr", "Transform",
):  # fmt: skip
    CfnLoader.add_constructor(f"!{_name}", _construct(f"Fn::{_name}"))


# The RestApi SAM creates for Api events when the template declares none.
SAM_IMPLICIT_API = "ServerlessRestApi"


def load_template(path: Path) -> dict[str, Any]:
    loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=CfnLoader)  # noqa: S506
    if not isinstance(loaded, dict) or "Resources" not in loaded:
        raise ValueError(f"{path} is not a CloudFormation template (no Resources)")
    return loaded


@dataclass(frozen=True)
class StackContext:
    """What a deployed stack would learn from AWS: its name, account, region, endpoint."""

    stack_name: str = "lumiere-local"
    account_id: str = "123456789012"
    region: str = "us-east-1"
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"
    # Queue URLs embed the endpoint, and must equal the ones moto hands out.
    endpoint_url: str = "http://127.0.0.1:8600"
    parameters: dict[str, str] = field(default_factory=dict)  # overrides of Defaults

    @property
    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::StackName": self.stack_name,
            "AWS::AccountId": self.account_id,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": self.url_suffix,
        }


def as_string(value: Any) -> str:
    """CloudFormation's string form of a scalar: YAML's `true` is "true", not "True"."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


class Resolver:
    """Evaluates Ref, Fn::GetAtt, Fn::Sub and Fn::Join against the local stack."""

    def __init__(self, template: dict[str, Any], ctx: StackContext) -> None:
        self.resources: dict[str, Any] = template.get("Resources") or {}
        self.parameters: dict[str, Any] = template.get("Parameters") or {}
        self.conditions: dict[str, Any] = template.get("Conditions") or {}
        self.ctx = ctx
        unknown = set(ctx.parameters) - set(self.parameters)
        if unknown:
            raise KeyError(f"parameter overrides for undeclared parameters: {sorted(unknown)}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                return self.get_att(*(arg if isinstance(arg, list) else arg.split(".", 1)))
            if key == "Fn::Sub":
                return self.sub(arg)
            if key == "Fn::Join":
                return as_string(arg[0]).join(as_string(self.resolve(v)) for v in arg[1])
            if key == "Fn::If":
                name, if_true, if_false = arg
                return self.resolve(if_true if self.condition(name) else if_false)
            if key.startswith("Fn::"):
                raise ValueError(f"{key} is not supported by the local stack")
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def condition(self, name: str) -> bool:
        """A named condition of the template, evaluated with the stack's parameters."""
        if name not in self.conditions:
            raise KeyError(f"no condition {name!r} in the template")
        return self._truth(self.conditions[name])

    def _truth(self, expression: Any) -> bool:
        if isinstance(expression, dict) and len(expression) == 1:
            ((key, arg),) = expression.items()
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Equals":
                left, right = (as_string(self.resolve(v)) for v in arg)
                return left == right
            if key == "Fn::Not":
                return not self._truth(arg[0])
            if key == "Fn::And":
                return all(self._truth(a) for a in arg)
            if key == "Fn::Or":
                return any(self._truth(a) for a in arg)
        raise ValueError(f"{expression!r} is not a condition the local stack evaluates")

    def exists(self, logical_id: str) -> bool:
        """False for a resource whose Condition is false: the stack would not create it."""
        name = self.resources[logical_id].get("Condition")
        return name is None or self.condition(name)

    def type_of(self, logical_id: str) -> str:
        if logical_id not in self.resources:
            raise KeyError(f"no resource {logical_id!r} in the template")
        return str(self.resources[logical_id]["Type"])

    def props(self, logical_id: str) -> dict[str, Any]:
        return dict(self.resources[logical_id].get("Properties") or {})

    def physical_name(self, logical_id: str) -> str:
        kind, props = self.type_of(logical_id), self.props(logical_id)
        given = {
            "AWS::S3::Bucket": "BucketName",
            "AWS::SQS::Queue": "QueueName",
            "AWS::DynamoDB::Table": "TableName",
            "AWS::Serverless::Function": "FunctionName",
            "AWS::CloudFront::KeyValueStore": "Name",
            "AWS::KMS::Alias": "AliasName",
        }.get(kind)
        if given and props.get(given):
            return as_string(self.resolve(props[given]))
        if kind == "AWS::S3::Bucket":
            return f"{self.ctx.stack_name}-{logical_id.lower()}"
        if kind == "AWS::SQS::Queue" and props.get("FifoQueue"):
            return f"{self.ctx.stack_name}-{logical_id}.fifo"
        return f"{self.ctx.stack_name}-{logical_id}"

    def ref(self, name: str) -> str:
        if name in self.ctx.pseudo:
            return self.ctx.pseudo[name]
        if name == SAM_IMPLICIT_API and name not in self.resources:
            # SAM makes this API from the functions' Api events; the local stack serves
            # it itself (and points API_URL at its own address).
            return f"{self.ctx.stack_name}-{name}"
        if name in self.parameters:
            if name in self.ctx.parameters:
                return self.ctx.parameters[name]
            if "Default" not in self.parameters[name]:
                raise KeyError(f"parameter {name} has no Default and no override")
            return as_string(self.parameters[name]["Default"])
        physical = self.physical_name(name)
        if self.type_of(name) == "AWS::SQS::Queue":
            return self.queue_url(physical)
        return physical

    def queue_url(self, queue_name: str) -> str:
        return f"{self.ctx.endpoint_url}/{self.ctx.account_id}/{queue_name}"

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        where = f"{self.ctx.region}:{self.ctx.account_id}" if regional else ":"
        return f"arn:{self.ctx.partition}:{service}:{where}:{resource}"

    def get_att(self, name: str, attribute: str) -> str:
        kind, physical = self.type_of(name), self.physical_name(name)
        attributes = {
            "AWS::SQS::Queue": {
                "Arn": lambda: self.arn("sqs", physical),
                "QueueName": lambda: physical,
                "QueueUrl": lambda: self.queue_url(physical),
            },
            "AWS::S3::Bucket": {"Arn": lambda: self.arn("s3", physical, regional=False)},
            "AWS::DynamoDB::Table": {"Arn": lambda: self.arn("dynamodb", f"table/{physical}")},
            "AWS::IAM::Role": {
                "Arn": lambda: (
                    f"arn:{self.ctx.partition}:iam::{self.ctx.account_id}:role/{physical}"
                )
            },
            # Only ever a stand-in: the local stack serves media itself (MEDIA_BASE_URL).
            "AWS::CloudFront::Distribution": {"DomainName": lambda: f"{physical}.cloudfront.net"},
            # Global, as CloudFront's ARNs are; the local stack keeps its keys in a
            # stand-in table of the same name (resources.py).
            "AWS::CloudFront::KeyValueStore": {
                "Arn": lambda: (
                    f"arn:{self.ctx.partition}:cloudfront::{self.ctx.account_id}"
                    f":key-value-store/{physical}"
                ),
                "Id": lambda: physical,
            },
        }.get(kind, {})
        if attribute not in attributes:
            raise KeyError(f"!GetAtt {name}.{attribute} ({kind}) is not supported locally")
        return attributes[attribute]()

    def sub(self, arg: str | list[Any]) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1] or {})

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} is the escape for a literal ${Literal}
                return "${" + name[1:] + "}"
            if name in variables:
                return as_string(self.resolve(variables[name]))
            if "." in name:
                return self.get_att(*name.split(".", 1))
            return self.ref(name)

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def target_id(self, value: Any) -> str:
        """The logical id a ``!GetAtt X.Arn`` or ``!Ref X`` names (event sources, DLQs)."""
        if isinstance(value, dict) and len(value) == 1:
            ((key, inner),) = value.items()
            if key == "Ref":
                return str(inner)
            if key == "Fn::GetAtt":
                return str(inner[0] if isinstance(inner, list) else inner.split(".", 1)[0])
        raise ValueError(f"cannot tell which resource {value!r} names; use !GetAtt or !Ref")
