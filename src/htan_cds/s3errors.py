"""What went wrong with an S3 bucket, in one sentence: no credentials, an endpoint nobody
answers, a bucket that does not exist, access denied.

Used before an import writes into ``s3://`` and before ``serve --store s3://`` serves from it,
so a wrong ``--s3-endpoint`` or missing ``AWS_*`` variables are one line, not a boto traceback
at the first file. The error names come from botocore (``NoCredentialsError``,
``EndpointConnectionError``) and the S3 API (``NoSuchBucket``, ``404``, ``403``,
``AccessDenied``, ``InvalidAccessKeyId``, ``SignatureDoesNotMatch``).
"""

from __future__ import annotations

from typing import Any

from htan_cds.errors import UsageError

_CREDENTIALS_HINT = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"


def explain(exc: BaseException, *, bucket: str, endpoint: str | None) -> UsageError:
    """A one-line :class:`UsageError` for a boto/S3 failure on ``bucket``."""
    where = endpoint or "AWS S3"
    name = type(exc).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return UsageError(f"no AWS credentials for s3://{bucket}", hint=_CREDENTIALS_HINT)
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        return UsageError(
            f"cannot reach the S3 endpoint {where}",
            hint="is it running, and is --s3-endpoint right?",
        )
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    if code in ("404", "NoSuchBucket", "NotFound"):
        return UsageError(f"bucket {bucket} does not exist at {where}", hint="create it first")
    if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return UsageError(
            f"access to bucket {bucket} at {where} denied ({code})", hint=_CREDENTIALS_HINT
        )
    return UsageError(f"s3://{bucket} at {where}: {exc}")


def check_bucket(client: Any, bucket: str, endpoint: str | None) -> None:
    """``HEAD`` the bucket; raise :func:`explain`'s error when that fails."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client.head_bucket(Bucket=bucket)
    except (BotoCoreError, ClientError) as exc:
        raise explain(exc, bucket=bucket, endpoint=endpoint) from exc
