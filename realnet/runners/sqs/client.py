"""boto3 clients for the SQS runner and the ``realnet sqs`` helpers, and one-line errors
for what SQS answers."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from realnet.core.errors import ConfigError, NotFound, RealnetError, StoreError

if TYPE_CHECKING:
    from realnet.config import Settings

#: https://sqs.<region>.amazonaws.com/<account>/<name>
AWS_QUEUE = re.compile(r"^https://sqs[.-]([a-z0-9-]+)\.amazonaws\.com(\.cn)?/")
#: SQS error codes that mean the request itself is wrong (retrying cannot help)
QUEUE_GONE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
REFUSED = ("InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException",
           "AccessDenied", "AccessDeniedException", "ExpiredToken", "InvalidAccessKeyId")


def region_of(settings: Settings, queue_url: str | None = None) -> str:
    if settings.sqs_region:
        return settings.sqs_region
    match = AWS_QUEUE.match(queue_url or settings.sqs_queue_url or "")
    return match.group(1) if match else settings.s3_region


def aws_client(settings: Settings, service: str, queue_url: str | None = None) -> Any:
    """A client for ``sqs`` (credentials from the AWS chain: variables, profile, pod identity)
    or ``s3`` (REALNET_STORAGE_S3_KEY/_SECRET when set, as for file content)."""
    try:
        from botocore.config import Config
    except ImportError:
        raise ConfigError("the SQS runner needs boto3: pip install 'realnet[sqs]'") from None
    if service == "sqs":
        endpoint, region, key, secret = (settings.sqs_endpoint_url, region_of(settings, queue_url),
                                         None, None)
    else:
        endpoint, region, key, secret = (settings.aws_endpoint_url, settings.s3_region,
                                         settings.s3_key, settings.s3_secret)
    # Retries are the runner's own (it backs off while the endpoint is away); boto3 gets one
    # quick retry for a dropped connection.
    config = Config(retries={"total_max_attempts": 2, "mode": "standard"}, connect_timeout=5,
                    read_timeout=30, max_pool_connections=50,
                    s3={"addressing_style": "path"} if service == "s3" and endpoint else None)
    from realnet.aws import new_client

    return new_client(service, endpoint_url=endpoint, region_name=region, aws_access_key_id=key,
                      aws_secret_access_key=secret, config=config)


def queue_error(error: Exception, queue: str, doing: str) -> RealnetError:
    """One line for a failed SQS call, naming the queue and what to check."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code in QUEUE_GONE:
            return NotFound(queue, "no such queue")
        if code in REFUSED:
            return StoreError(f"{queue}: the credentials were refused ({code}) while trying to {doing} "
                              "(check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the pod's role)")
        message = error.response.get("Error", {}).get("Message", "")
        return StoreError(f"{queue}: cannot {doing} ({code}{': ' + message if message else ''})")
    if isinstance(error, NoCredentialsError):
        return StoreError(f"{queue}: no AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
    if isinstance(error, EndpointConnectionError):
        return StoreError(f"{queue}: cannot connect to the endpoint (check REALNET_SQS_ENDPOINT_URL)")
    return StoreError(f"{queue}: cannot {doing} ({type(error).__name__}: {error})")


def call(client: Any, queue: str, doing: str, method: str, **kwargs: Any) -> Any:
    """One SQS call (blocking), its failure as the one-line error of :func:`queue_error`."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return getattr(client, method)(**kwargs)
    except (BotoCoreError, ClientError) as e:
        raise queue_error(e, queue, doing) from None


def queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]
