"""The local stack: moto's server, the template's resources, the API, the media CDN and
the SQS event-source mappings, all in one process."""

from __future__ import annotations

import logging
import os
import socket
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from lumiere_dev.api_server import ApiServer
from lumiere_dev.cdn import MediaServer
from lumiere_dev.resources import create_resources
from lumiere_dev.runner import EventSourceMapping
from lumiere_dev.spec import read_stack
from lumiere_dev.template import StackContext, StackSpec

log = logging.getLogger(__name__)

# moto accepts any credentials; these keep boto3 from looking for real ones.
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class LocalStack:
    def __init__(
        self,
        template_path: Path,
        *,
        host: str = "127.0.0.1",
        moto_port: int = 0,
        api_port: int = 0,
        cdn_port: int = 0,
        workers_per_function: int = 2,
        retry_delay_seconds: int = 1,
        run_functions: bool = True,
        overrides: dict[str, str] | None = None,
        stack_name: str = "lumiere-local",
    ) -> None:
        self.host = host
        self.moto_port = moto_port or free_port(host)
        self.api_port = api_port or free_port(host)
        self.cdn_port = cdn_port or free_port(host)
        self.workers = workers_per_function
        self.retry_delay_seconds = retry_delay_seconds
        self.run_functions = run_functions
        self.overrides = dict(overrides or {})
        ctx = StackContext(stack_name=stack_name, endpoint_url=f"http://{host}:{self.moto_port}")
        self.spec: StackSpec = read_stack(template_path, ctx)
        self._moto = ThreadedMotoServer(ip_address=host, port=self.moto_port, verbose=False)
        self._api: ApiServer | None = None
        self._cdn: MediaServer | None = None
        self.mappings: list[EventSourceMapping] = []

    @property
    def endpoint_url(self) -> str:
        return self.spec.context.endpoint_url

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def media_url(self) -> str:
        return f"http://{self.host}:{self.cdn_port}"

    def boto3_session(self) -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=self.spec.context.region,
        )

    def client(self, service: str) -> Any:
        return self.boto3_session().client(service, endpoint_url=self.endpoint_url)

    def environment(self) -> dict[str, str]:
        env = self.spec.function_environment()
        env.update(LOCAL_CREDENTIALS)
        env["AWS_DEFAULT_REGION"] = env["AWS_REGION"] = self.spec.context.region
        env["AWS_ENDPOINT_URL"] = self.endpoint_url
        env["MEDIA_BASE_URL"] = self.media_url
        env.update(self.overrides)
        return env

    def start(self) -> LocalStack:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request lines
        self._moto.start()
        create_resources(self.spec, self.boto3_session())
        # The handlers run in this process and read their configuration from it.
        os.environ.update(self.environment())
        from lumiere.handlers import runtime

        runtime.reset()  # a new cold start, pointed at this moto server
        # The CDN fronts the bucket the functions know as MEDIA_BUCKET, if any.
        media_bucket = self.spec.function_environment().get("MEDIA_BUCKET")
        if media_bucket:
            self._cdn = MediaServer(self.client("s3"), media_bucket, self.host, self.cdn_port)
            self._cdn.start()
        api_fn = next((f for f in self.spec.functions.values() if f.api_events), None)
        if api_fn is not None:
            self._api = ApiServer(
                api_fn.handler,
                self.host,
                self.api_port,
                timeout=api_fn.timeout,
                memory=api_fn.memory,
            )
            self._api.start()
        if self.run_functions:
            self.start_functions()
        return self

    def start_functions(self) -> None:
        for fn in self.spec.functions.values():
            for event in fn.sqs_events:
                mapping = EventSourceMapping(
                    fn,
                    event,
                    self.spec.queues[event.queue_id],
                    self.spec.context,
                    workers=self.workers,
                    retry_delay_seconds=self.retry_delay_seconds,
                )
                mapping.start()
                self.mappings.append(mapping)

    def wait_idle(self, timeout: float = 120.0) -> None:
        """Until every function queue is empty and no handler is running."""
        sqs = self.client("sqs")
        queues = {m.queue.url for m in self.mappings}
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            pending = 0
            for url in queues:
                attrs = sqs.get_queue_attributes(
                    QueueUrl=url,
                    AttributeNames=[
                        "ApproximateNumberOfMessages",
                        "ApproximateNumberOfMessagesNotVisible",
                    ],
                )["Attributes"]
                pending += sum(int(v) for v in attrs.values())
            busy = any(m.busy for m in self.mappings)
            quiet = quiet + 1 if pending == 0 and not busy else 0
            if quiet >= 3:
                return
            time.sleep(0.2)
        raise TimeoutError(f"local stack still busy after {timeout}s")

    def stop(self) -> None:
        for mapping in self.mappings:
            mapping._stop.set()
        for mapping in self.mappings:
            mapping.stop()
        self.mappings.clear()
        for server in (self._api, self._cdn):
            if server is not None:
                server.stop()
        self._moto.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
