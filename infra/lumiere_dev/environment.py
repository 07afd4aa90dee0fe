"""The one environment every handler runs in: the functions' variables from the template,
pointed at moto.

All handlers share this process, so they share os.environ. Lambda gives each function its
own; here a variable two functions set differently is an error rather than a silent
wrong value for one of them.
"""

from __future__ import annotations

import os

from lumiere_dev.template import StackSpec

# moto accepts any credentials; these keep boto3 from finding (and using) real ones.
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def handler_environment(spec: StackSpec, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """What os.environ must hold for the handlers: the union of the functions' variables,
    moto's endpoint and dummy credentials, then ``overrides``, which may also settle a
    variable the functions disagree on."""
    overrides = overrides or {}
    env: dict[str, str] = {}
    owner: dict[str, str] = {}
    for fn in spec.functions.values():
        for name, value in fn.environment.items():
            if name in env and env[name] != value and name not in overrides:
                raise ValueError(
                    f"{name} is {env[name]!r} in {owner[name]} but {value!r} in "
                    f"{fn.logical_id}; the local stack runs all handlers in one process "
                    "with one environment (pass an override to choose)"
                )
            env[name], owner[name] = value, fn.logical_id
    ctx = spec.context
    env.update(LOCAL_CREDENTIALS)
    env.update(AWS_DEFAULT_REGION=ctx.region, AWS_REGION=ctx.region)
    env["AWS_ENDPOINT_URL"] = ctx.endpoint_url
    env.update(overrides)
    return env


def apply_environment(env: dict[str, str]) -> dict[str, str | None]:
    """Put ``env`` into os.environ; returns what to restore."""
    previous = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    return previous


def restore_environment(previous: dict[str, str | None]) -> None:
    for k, v in previous.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
