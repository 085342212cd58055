"""The gcs flavor: its config, the flavor and the hook; imports only cargohold, pydantic and the stdlib."""

from __future__ import annotations

import ipaddress
import json
import re
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from cargohold.plugin import (
    BaseArtifactStoreFlavor,
    DeprecatedFieldWarning,
    EndpointUrl,
    RemoteArtifactStoreConfig,
    SecretField,
    hookimpl,
    parse_secret_reference,
)

__all__ = ["GCSArtifactStoreConfig", "GCSArtifactStoreFlavor"]

#: The plugin API this module is written for; a cargohold offering another reports the plugin incompatible.
cargohold_api_version = 1

#: Token strings that named a gcsfs login method instead of carrying a key, and the source each now is.
_TOKEN_METHODS = {"anon": "anonymous", "google_default": "environment", "cloud": "environment"}
#: The keys gcsfs needs in each kind of JSON key it can log in with.
_KEY_FIELDS = {
    "service_account": ("client_email", "private_key", "token_uri"),
    "authorized_user": ("client_id", "client_secret", "refresh_token"),
}
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]*[a-z0-9]")
_PROJECT = re.compile(r"[a-z0-9][a-z0-9.:-]*")


class GCSArtifactStoreConfig(RemoteArtifactStoreConfig):
    """A bucket, or a folder in one, on Google Cloud Storage or an emulator of its JSON API."""

    SUPPORTED_SCHEMES: ClassVar[frozenset[str]] = frozenset({"gs://", "gcs://"})
    CREDENTIAL_FIELDS: ClassVar[tuple[str, ...]] = ("token",)
    CONFIG_CREDENTIALS: ClassVar[str] = "a JSON key in token"
    DEFAULT_CHAIN: ClassVar[str] = "GOOGLE_APPLICATION_CREDENTIALS, gcloud's login, the metadata server"

    path: str = Field(description="Root of the store: gs://bucket or gs://bucket/folder (gcs:// works too).")
    project: str | None = Field(
        default=None,
        description="Google Cloud project id; needed only to create buckets on real GCS (unset: the credentials' own).",
    )
    token: str | None = SecretField(
        default=None,
        description=(
            "A service-account (or authorized-user) JSON key, as text (an object is turned into text). For the "
            "default chain or no credentials, leave it unset and set credentials to 'environment' or 'anonymous'."
        ),
    )
    endpoint_url: EndpointUrl = Field(
        default=None,
        description="Base URL of the JSON API, e.g. http://127.0.0.1:4443 for fake-gcs-server (unset: Google's).",
    )
    zonal_hns_support: bool = Field(
        default=False,
        description=(
            "Use gcsfs's extended filesystem, needed for zonal and hierarchical-namespace buckets. Off by default: "
            "it asks a gRPC storage-control API for each bucket's layout, which emulators never answer, so every "
            "bucket operation there stalls for about a minute."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _read_token_methods(cls, values: Any) -> Any:
        """A token naming a login method ('anon', 'google_default', 'cloud') is read as the source it stands for,
        for one release; a ``credentials`` given too wins."""
        if not isinstance(values, Mapping) or not isinstance(values.get("token"), str):
            return values
        source = _TOKEN_METHODS.get(values["token"].strip())
        if source is None:
            return values
        values = {**values, "token": None}
        if values.get("credentials") is None:
            values["credentials"] = source
        warnings.warn(
            f"A token naming a login method is deprecated and goes in the next release: it is read as credentials "
            f"= {source!r}. Set credentials to {source!r} and remove token instead.",
            DeprecatedFieldWarning,
            stacklevel=2,
        )
        return values

    @field_validator("path")
    @classmethod
    def _check_bucket(cls, value: str) -> str:
        """Refuse a bucket name GCS would refuse, before any request is made."""
        bucket = value.partition("://")[2].strip("/").split("/", 1)[0]
        problem = _bucket_problem(bucket)
        if problem:
            raise ValueError(f"path {value!r} names the bucket {bucket!r}, which GCS does not allow: {problem}")
        return value

    @field_validator("project")
    @classmethod
    def _check_project(cls, value: str | None) -> str | None:
        if value is not None and not _PROJECT.fullmatch(value):
            raise ValueError(
                f"project {value!r} is not a Google Cloud project id; use lowercase letters, digits and hyphens "
                "(e.g. my-project-123), or leave it unset"
            )
        return value

    @field_validator("token", mode="before")
    @classmethod
    def _key_as_text(cls, value: Any) -> Any:
        """A JSON key given as an object becomes text, the form the registry keeps secrets in."""
        return json.dumps(value) if isinstance(value, dict) else value

    @field_validator("token")
    @classmethod
    def _check_token(cls, value: str | None) -> str | None:
        """Accept what gcsfs can log in with; the message never quotes the value, which may be a key."""
        if value is None or parse_secret_reference(value) is not None:
            return value
        key = parse_token(value)
        kind = key.get("type")
        if kind not in _KEY_FIELDS:
            raise ValueError(
                "token is a JSON object whose 'type' is not 'service_account' or 'authorized_user'; "
                "give the JSON key file Google issued, unchanged"
            )
        missing = [name for name in _KEY_FIELDS[kind] if not key.get(name)]
        if missing:
            raise ValueError(f"token is a {kind} key without {', '.join(map(repr, missing))}; give the whole JSON key")
        return value


def parse_token(value: str) -> dict[str, Any]:
    """The JSON key a token holds; a ValueError that never quotes the value when it holds none."""
    how = (
        "give a service-account JSON key or a {{secret.key}} reference, or leave token unset and set credentials "
        "to 'environment' or 'anonymous'"
    )
    if not value.lstrip().startswith(("{", "[")):
        raise ValueError(f"token is not a JSON key nor a known login method; {how}")
    try:
        key = json.loads(value)
    except json.JSONDecodeError:
        raise ValueError(f"token starts like JSON but is not valid JSON; {how}") from None
    if not isinstance(key, dict):
        raise ValueError(f"token is JSON but not an object; {how}")
    return key


def _bucket_problem(bucket: str) -> str | None:
    """Why GCS would refuse ``bucket`` as a name (its published naming rules), or None when it is fine, as in s3."""
    if not 3 <= len(bucket) <= 222 or not _BUCKET.fullmatch(bucket):
        return "use 3-63 lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
    if "." not in bucket and len(bucket) > 63:
        return "a name without dots has at most 63 characters"
    if any(not 1 <= len(part) <= 63 for part in bucket.split(".")):
        return "each dot-separated part has 1-63 characters"
    if bucket.startswith("goog") or "google" in bucket:
        return "names may not start with 'goog' nor contain 'google'"
    try:
        ipaddress.ip_address(bucket)
    except ValueError:
        return None
    return "a name may not be an IP address"


class GCSArtifactStoreFlavor(BaseArtifactStoreFlavor):
    """Artifacts in a Google Cloud Storage bucket."""

    name = "gcs"
    config_class = GCSArtifactStoreConfig
    implementation_source = "cargohold_gcs.store:GCSArtifactStore"
    description = "A Google Cloud Storage bucket (or an emulator), through gcsfs, with create-only writes."
    docs_url = "https://github.com/cargohold/cargohold/tree/main/plugins/gcs"


@hookimpl
def cargohold_flavors() -> list[type[BaseArtifactStoreFlavor]]:
    """The gcs flavor."""
    return [GCSArtifactStoreFlavor]
