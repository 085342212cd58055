"""The s3 flavor: its config, settings, the flavor and the hook; imports only cargohold, pydantic and the stdlib."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import Field, field_validator, model_validator

from cargohold.plugin import (
    BaseArtifactStoreFlavor,
    EndpointUrl,
    RemoteArtifactStoreConfig,
    RenamedField,
    SecretField,
    StackComponentSettings,
    anon_as_credentials,
    hookimpl,
)

__all__ = ["S3ArtifactStoreConfig", "S3ArtifactStoreFlavor", "S3ArtifactStoreSettings"]

#: The plugin API this module is written for; a cargohold offering another reports the plugin incompatible.
cargohold_api_version = 1

_BUCKET_RULES_URL = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"
_IP_LIKE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
#: client_kwargs keys that have a field of their own: credentials must stay in secret fields.
_OWN_FIELDS = {
    "aws_access_key_id": "key",
    "aws_secret_access_key": "secret",
    "aws_session_token": "token",
    "endpoint_url": "endpoint_url",
    "region_name": "region",
}


def _bucket_problem(bucket: str) -> str | None:
    """What breaks S3's bucket naming rules in ``bucket``, or None when the name is valid."""
    if not 3 <= len(bucket) <= 63:
        return "must be 3 to 63 characters long"
    if not re.fullmatch(r"[a-z0-9.-]+", bucket):
        return "may hold only lowercase letters, digits, dots and hyphens"
    if not (bucket[0].isalnum() and bucket[-1].isalnum()):
        return "must begin and end with a letter or digit"
    if ".." in bucket:
        return "must not hold two dots in a row"
    if _IP_LIKE.match(bucket):
        return "must not look like an IP address"
    prefix = next((p for p in _RESERVED_PREFIXES if bucket.startswith(p)), None)
    if prefix:
        return f"must not begin with {prefix!r}, which AWS reserves"
    suffix = next((s for s in _RESERVED_SUFFIXES if bucket.endswith(s)), None)
    if suffix:
        return f"must not end with {suffix!r}, which AWS reserves"
    return None


def _attempts_to_retries(value: Any) -> Any:
    """``max_attempts`` counted the first try; ``retries`` counts only the tries after it."""
    return value - 1 if isinstance(value, int) and not isinstance(value, bool) else value


class S3ArtifactStoreConfig(RemoteArtifactStoreConfig):
    """A bucket, or a prefix in one, on Amazon S3 or an S3-compatible service.

    Credentials come from key and secret, or, only when ``credentials`` says so, from the AWS default chain
    (environment, profile, instance metadata) or nowhere (unsigned requests). Timeouts and retries are bounded so
    that a dead endpoint fails in seconds.
    """

    SUPPORTED_SCHEMES: ClassVar[frozenset[str]] = frozenset({"s3://"})
    RENAMED_FIELDS: ClassVar[Mapping[str, RenamedField]] = {
        "max_attempts": RenamedField("retries", _attempts_to_retries, "max_attempts counted the first try"),
        "anon": RenamedField("credentials", anon_as_credentials, "anon: true sent unsigned requests"),
    }
    CREDENTIAL_FIELDS: ClassVar[tuple[str, ...]] = ("key", "secret", "token")
    CONFIG_CREDENTIALS: ClassVar[str] = "key and secret"
    DEFAULT_CHAIN: ClassVar[str] = "AWS_* variables, the shared config and credentials files, instance metadata"

    path: str = Field(description="Root of the store: s3://bucket or s3://bucket/prefix.")
    key: str | None = SecretField(None, description="Access key id, given together with secret.")
    secret: str | None = SecretField(None, description="Secret access key, given together with key.")
    token: str | None = SecretField(None, description="Session token of temporary credentials, with key and secret.")
    endpoint_url: EndpointUrl = Field(
        None, description="URL of an S3-compatible service, e.g. http://127.0.0.1:9000; unset for AWS."
    )
    region: str | None = Field(None, min_length=1, description="AWS region, e.g. eu-west-1; unset for the default.")
    client_kwargs: dict[str, Any] = Field({}, description="More keyword arguments for the botocore client (JSON).")
    config_kwargs: dict[str, Any] = Field(
        {},
        description="botocore Config options (JSON); they override connect_timeout, read_timeout and retries.",
    )
    s3_additional_kwargs: dict[str, Any] = Field(
        {},
        description='Parameters added to S3 requests (JSON), e.g. {"ServerSideEncryption": "aws:kms"}.',
    )

    @field_validator("path")
    @classmethod
    def _check_bucket(cls, value: str) -> str:
        """Refuse a bucket S3 could never have, before anything goes over the wire."""
        bucket = value.partition("://")[2].partition("/")[0]
        problem = _bucket_problem(bucket)
        if problem:
            raise ValueError(f"the bucket name {bucket!r} in {value!r} {problem} (see {_BUCKET_RULES_URL})")
        return value

    @field_validator("client_kwargs")
    @classmethod
    def _check_client_kwargs(cls, value: dict[str, Any]) -> dict[str, Any]:
        """Each setting has one place, and credentials only the secret fields, which are never stored in plain."""
        for name, field in _OWN_FIELDS.items():
            if name in value:
                raise ValueError(f"{name!r} does not belong here; give it as the {field!r} field instead")
        return value

    @model_validator(mode="after")
    def _check_credentials(self) -> Self:
        """Credentials that cannot log in are refused here rather than on the first request."""
        if (self.key is None) != (self.secret is None):
            raise ValueError(
                "key and secret go together: give both, or neither with credentials set to 'environment' for the "
                "AWS default chain"
            )
        if self.token is not None and self.key is None:
            raise ValueError("token is the session token of temporary credentials: give key and secret with it")
        return self


class S3ArtifactStoreSettings(StackComponentSettings):
    """Per-use overrides of an s3 store, e.g. another storage class or KMS key for one run."""

    s3_additional_kwargs: dict[str, Any] = Field(
        {}, description="Merged over the config's s3_additional_kwargs, key by key (JSON)."
    )


class S3ArtifactStoreFlavor(BaseArtifactStoreFlavor):
    """Artifacts in an S3 bucket, through s3fs."""

    name = "s3"
    config_class = S3ArtifactStoreConfig
    settings_class = S3ArtifactStoreSettings
    implementation_source = "cargohold_s3.store:S3ArtifactStore"
    description = "Amazon S3 or an S3-compatible service (MinIO, moto, ...), with create-only writes."
    docs_url = "https://github.com/cargohold/cargohold/tree/main/plugins/s3"


@hookimpl
def cargohold_flavors() -> list[type[BaseArtifactStoreFlavor]]:
    """The s3 flavor."""
    return [S3ArtifactStoreFlavor]
