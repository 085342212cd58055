"""The azure config: one clear sentence, naming the fields, for credentials that clash or cannot log in."""

from __future__ import annotations

from typing import Any

import pytest

from cargohold import DeprecatedFieldWarning, InvalidConfigError
from cargohold_azure.flavor import AzureArtifactStoreConfig, AzureArtifactStoreFlavor

PATH = "az://artifacts/root"


def validate(**values: Any) -> AzureArtifactStoreConfig:
    config = AzureArtifactStoreFlavor().validate_config({"path": PATH, **values})
    assert isinstance(config, AzureArtifactStoreConfig)
    return config


@pytest.mark.parametrize(
    "values",
    [
        {"credentials": "environment"},  # adlfs's default chain: AZURE_STORAGE_* variables
        {"account_name": "acct", "credentials": "environment"},  # DefaultAzureCredential
        {"account_name": "acct", "credentials": "anonymous"},
        {"connection_string": "AccountName=acct;AccountKey=a2V5"},
        {"account_name": "acct", "account_key": "a2V5"},
        {"account_name": "acct", "sas_token": "?sv=2024&sig=abc"},
        {"account_name": "acct", "client_id": "app", "client_secret": "s", "tenant_id": "t"},
        {"connection_string": "{{azure.connection_string}}"},
        {"account_name": "acct", "account_key": "{{azure.key}}"},
        {"account_name": "acct", "client_id": "app", "client_secret": "{{sp.secret}}", "tenant_id": "t"},
    ],
)
def test_one_way_of_logging_in_is_accepted(values: dict[str, Any]) -> None:
    config = validate(**values)
    assert {k: getattr(config, k) for k in values} == values  # references are kept as given, to resolve later


@pytest.mark.parametrize(
    ("values", "sentence"),
    [
        (
            {"connection_string": "AccountName=a;AccountKey=k", "account_key": "k"},
            "connection_string already holds the account and its credentials, so drop account_key",
        ),
        (
            {"connection_string": "{{s.cs}}", "account_name": "acct", "sas_token": "{{s.sas}}"},
            "connection_string already holds the account and its credentials, so drop account_name and sas_token",
        ),
        (
            {"connection_string": "x=y", "credentials": "anonymous"},
            "credentials 'anonymous' takes none from the config, so drop connection_string",
        ),
        (
            {"account_name": "acct", "credentials": "environment", "account_key": "k"},
            "credentials 'environment' takes none from the config, so drop account_key or set credentials to 'config'",
        ),
        ({"account_name": "acct"}, "say where the credentials come from: give connection_string, or account_name"),
        (
            {"account_name": "acct", "account_key": "k", "sas_token": "s"},
            "give one way of logging in, not account_key and sas_token together",
        ),
        (
            {"account_name": "acct", "sas_token": "s", "client_id": "app"},
            "not sas_token and client_id/client_secret/tenant_id together",
        ),
        (
            {"account_name": "acct", "client_secret": "{{sp.secret}}"},
            "a service principal needs client_id, client_secret and tenant_id together; add client_id and tenant_id",
        ),
        ({"account_name": "acct", "client_id": "app", "tenant_id": "t"}, "add client_secret"),
        ({"account_key": "{{azure.key}}"}, "account_key needs account_name, the storage account to log in to"),
        ({"sas_token": "s"}, "sas_token needs account_name"),
        ({"client_id": "a", "client_secret": "s", "tenant_id": "t"}, "client_secret and tenant_id need account_name"),
        ({"credentials": "anonymous"}, "credentials 'anonymous' needs account_name"),
    ],
)
def test_clashing_or_insufficient_credentials_get_one_sentence(values: dict[str, Any], sentence: str) -> None:
    with pytest.raises(InvalidConfigError) as refused:
        validate(**values)
    message = str(refused.value)
    assert sentence in message
    assert message.count(". ") == 0  # one sentence, ended once


def test_anon_is_read_as_anonymous_credentials_with_a_deprecation() -> None:
    with pytest.warns(DeprecatedFieldWarning, match="'anon' is deprecated .* read as credentials = 'anonymous'"):
        config = validate(account_name="acct", anon=True)
    assert config.credentials_source == "anonymous"


def test_a_refusal_never_quotes_a_secret() -> None:
    secrets = {
        "connection_string": "AccountKey=Q09OTi1TRUNSRVQ=",
        "account_key": "S0VZLVNFQ1JFVA==",
        "sas_token": "sig=U0FT",
    }
    with pytest.raises(InvalidConfigError) as refused:
        validate(account_name="acct", **secrets)
    assert not [value for value in secrets.values() if value in str(refused.value)]


@pytest.mark.parametrize(
    ("path", "sentence"),
    [
        ("az://Artifacts/x", "names the container 'Artifacts', which Azure does not allow"),
        ("az://ab/x", "use 3 to 63 lowercase letters"),
        ("az://a--b/x", "single hyphens"),
        ("abfs://box@acct.dfs.core.windows.net/x", "write abfs://box/... and set account_name"),
        ("s3://bucket/x", "use abfs://, az://"),
    ],
)
def test_paths_azure_cannot_serve_are_refused(path: str, sentence: str) -> None:
    with pytest.raises(InvalidConfigError, match="path") as refused:
        AzureArtifactStoreFlavor().validate_config({"path": path})
    assert sentence in str(refused.value)


@pytest.mark.parametrize("container", ["abc", "a-b-c", "x" * 63, "$root", "0box"])
def test_container_names_azure_allows(container: str) -> None:
    assert (
        AzureArtifactStoreConfig(path=f"abfs://{container}/x", credentials="environment").path
        == f"abfs://{container}/x"
    )


def test_an_account_name_azure_cannot_have_is_refused() -> None:
    with pytest.raises(InvalidConfigError, match="account_name 'My_Account' is not a storage account name"):
        validate(account_name="My_Account")


@pytest.mark.parametrize(("field", "value"), [("retries", -1), ("connect_timeout", 0), ("read_timeout", -1.0)])
def test_limits_must_be_positive(field: str, value: float) -> None:
    with pytest.raises(InvalidConfigError, match=field):
        validate(**{field: value})


def test_secrets_are_redacted_in_repr() -> None:
    config = validate(account_name="acct", account_key="c2VjcmV0LWtleQ==")
    assert "c2VjcmV0LWtleQ==" not in repr(config)
    assert "acct" in repr(config)
