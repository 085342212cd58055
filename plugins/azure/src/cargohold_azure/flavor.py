"""The azure flavor: its config, the flavor and the hook; imports only cargohold, pydantic and the stdlib."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import ClassVar, Self

from pydantic import Field, field_validator, model_validator

from cargohold.plugin import (
    BaseArtifactStoreFlavor,
    RemoteArtifactStoreConfig,
    RenamedField,
    SecretField,
    anon_as_credentials,
    hookimpl,
    parse_secret_reference,
)

__all__ = ["AzureArtifactStoreConfig", "AzureArtifactStoreFlavor"]

#: The plugin API this module is written for; a cargohold offering another reports the plugin incompatible.
cargohold_api_version = 1

_CONTAINER = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(?:-[a-z0-9]+)*$|^\$(?:root|web|logs)$")
_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_SERVICE_PRINCIPAL = ("client_id", "client_secret", "tenant_id")


class AzureArtifactStoreConfig(RemoteArtifactStoreConfig):
    """A folder in an Azure Blob Storage container, and one way of logging in: credentials in the config, or,
    when ``credentials`` says so, adlfs's default chain or none; see the plugin's README."""

    SUPPORTED_SCHEMES: ClassVar[frozenset[str]] = frozenset({"az://", "abfs://"})
    RENAMED_FIELDS: ClassVar[Mapping[str, RenamedField]] = {
        "connection_timeout": RenamedField("connect_timeout"),
        "anon": RenamedField("credentials", anon_as_credentials, "anon: true read a public container"),
    }
    CREDENTIAL_FIELDS: ClassVar[tuple[str, ...]] = (
        "connection_string",
        "account_key",
        "sas_token",
        "client_id",
        "client_secret",
        "tenant_id",
    )
    CONFIG_CREDENTIALS: ClassVar[str] = (
        "connection_string, or account_name with account_key, sas_token or a service principal"
    )
    DEFAULT_CHAIN: ClassVar[str] = "AZURE_STORAGE_* variables, then DefaultAzureCredential for account_name"

    path: str = Field(description="az://CONTAINER/FOLDER (or abfs://); the container must exist.")
    account_name: str | None = Field(None, description="The storage account; not needed with connection_string.")
    account_key: str | None = SecretField(None, description="A shared key of account_name.")
    sas_token: str | None = SecretField(None, description="A shared access signature for account_name.")
    connection_string: str | None = SecretField(
        None, description="Account, endpoint and credentials in one string (the way to reach Azurite)."
    )
    client_id: str | None = Field(None, description="Service principal: the application (client) id.")
    client_secret: str | None = SecretField(None, description="Service principal: its secret.")
    tenant_id: str | None = Field(None, description="Service principal: the directory (tenant) id.")

    @field_validator("path")
    @classmethod
    def _check_container(cls, value: str) -> str:
        """Name Azure's container rules now, rather than let the service answer with an opaque 400 later."""
        scheme, _, rest = value.partition("://")  # the base class has checked the scheme by now
        container = rest.strip("/").split("/")[0]
        if "@" in container:
            name, _, host = container.partition("@")
            raise ValueError(
                f"path {value!r} names the account inside the URL; write {scheme}://{name}/... "
                f"and set account_name to the account of {host!r}"
            )
        if not _CONTAINER.match(container):
            raise ValueError(
                f"path {value!r} names the container {container!r}, which Azure does not allow: use 3 to 63 "
                "lowercase letters, digits and single hyphens, starting and ending with a letter or digit"
            )
        return value

    @field_validator("account_name")
    @classmethod
    def _check_account(cls, value: str | None) -> str | None:
        if value is None or parse_secret_reference(value) is not None or _ACCOUNT.match(value):
            return value
        raise ValueError(
            f"account_name {value!r} is not a storage account name: use 3 to 24 lowercase letters or digits"
        )

    @model_validator(mode="after")
    def _check_credentials(self) -> Self:
        """Refuse credentials that contradict each other or cannot log in, naming the fields."""
        problem = _credential_problem(self)
        if problem:
            raise ValueError(problem)
        return self


def _credential_problem(config: AzureArtifactStoreConfig) -> str | None:
    """One sentence about what is wrong with the credentials given, or None; a reference counts as given."""
    given = [name for name in ("account_key", "sas_token", *_SERVICE_PRINCIPAL) if getattr(config, name) is not None]
    if config.connection_string is not None:
        extra = [n for n in ("account_name", *given) if getattr(config, n) is not None]
        if extra:
            return f"connection_string already holds the account and its credentials, so drop {_names(extra)}"
        return None
    kinds: list[str] = [k for k in ("account_key", "sas_token") if k in given]
    if any(n in given for n in _SERVICE_PRINCIPAL):
        kinds.append("client_id/client_secret/tenant_id")
    if len(kinds) > 1:
        return f"give one way of logging in, not {_names(kinds)} together"
    missing = [n for n in _SERVICE_PRINCIPAL if n not in given]
    if kinds == ["client_id/client_secret/tenant_id"] and missing:
        return f"a service principal needs client_id, client_secret and tenant_id together; add {_names(missing)}"
    anonymous = config.credentials == "anonymous"
    if (given or anonymous) and config.account_name is None:
        what = given or ["credentials 'anonymous'"]
        need = "needs" if len(what) == 1 else "need"
        return f"{_names(what)} {need} account_name, the storage account to log in to; set it, or use connection_string"
    return None


def _names(fields: list[str]) -> str:
    return " and ".join(fields) if len(fields) < 3 else ", ".join(fields[:-1]) + " and " + fields[-1]


class AzureArtifactStoreFlavor(BaseArtifactStoreFlavor):
    """Artifacts in an Azure Blob Storage container."""

    name = "azure"
    config_class = AzureArtifactStoreConfig
    implementation_source = "cargohold_azure.store:AzureArtifactStore"
    description = "A container in Azure Blob Storage (adlfs), with create-only writes and copies."
    docs_url = "https://github.com/cargohold/cargohold/tree/main/plugins/azure"


@hookimpl
def cargohold_flavors() -> list[type[BaseArtifactStoreFlavor]]:
    """The azure flavor."""
    return [AzureArtifactStoreFlavor]
