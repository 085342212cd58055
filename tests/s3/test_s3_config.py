"""The s3 config: what it accepts, and one sentence naming the field for what it refuses; no server needed."""

from __future__ import annotations

from typing import Any

import pytest

from cargohold import DeprecatedFieldWarning, InvalidConfigError
from cargohold_s3.flavor import S3ArtifactStoreConfig, S3ArtifactStoreFlavor

FLAVOR = S3ArtifactStoreFlavor()


def _validate(**values: Any) -> S3ArtifactStoreConfig:
    """Validate a config; one that names no credentials takes the environment's, as it must say."""
    if not {"key", "secret", "token", "credentials"} & set(values):
        values["credentials"] = "environment"
    config = FLAVOR.validate_config({"path": "s3://bucket/root", **values})
    assert isinstance(config, S3ArtifactStoreConfig)
    return config


@pytest.mark.parametrize("bucket", ["abc", "my.bucket-1", "1bucket", "a" * 63, "xn-bucket", "bucket-s3"])
def test_valid_bucket_names(bucket: str) -> None:
    assert _validate(path=f"s3://{bucket}/prefix").path == f"s3://{bucket}/prefix"


@pytest.mark.parametrize(
    ("bucket", "problem"),
    [
        ("ab", "must be 3 to 63 characters long"),
        ("a" * 64, "must be 3 to 63 characters long"),
        ("My-Bucket", "may hold only lowercase letters, digits, dots and hyphens"),
        ("my_bucket", "may hold only lowercase letters, digits, dots and hyphens"),
        ("-bucket", "must begin and end with a letter or digit"),
        ("bucket.", "must begin and end with a letter or digit"),
        ("my..bucket", "must not hold two dots in a row"),
        ("192.168.5.4", "must not look like an IP address"),
        ("xn--bucket", "must not begin with 'xn--'"),
        ("sthree-bucket", "must not begin with 'sthree-'"),
        ("bucket-s3alias", "must not end with '-s3alias'"),
        ("bucket--ol-s3", "must not end with '--ol-s3'"),
    ],
)
def test_invalid_bucket_names_are_refused_naming_the_rule(bucket: str, problem: str) -> None:
    with pytest.raises(InvalidConfigError) as caught:
        _validate(path=f"s3://{bucket}/prefix")
    message = str(caught.value)
    assert message.startswith("Invalid config for the 's3' flavor: path: ")
    assert f"the bucket name {bucket!r}" in message
    assert problem in message


@pytest.mark.parametrize("path", ["gs://bucket/x", "bucket/x", "s3://"])
def test_other_schemes_and_empty_paths_are_refused(path: str) -> None:
    with pytest.raises(InvalidConfigError, match="path: "):
        _validate(path=path)


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:9000", "https://s3.eu-west-1.amazonaws.com", " http://h/ "])
def test_http_and_https_endpoints_are_accepted(endpoint: str) -> None:
    assert _validate(endpoint_url=endpoint).endpoint_url == endpoint.strip().rstrip("/")


@pytest.mark.parametrize("endpoint", ["ftp://host", "127.0.0.1:9000", "http://", "s3://bucket"])
def test_other_endpoints_are_refused(endpoint: str) -> None:
    with pytest.raises(InvalidConfigError, match=r"endpoint_url: .*is not an http:// or https:// URL"):
        _validate(endpoint_url=endpoint)


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"key": "AKIAONLYKEY"}, "key and secret go together"),
        ({"secret": "only-the-secret"}, "key and secret go together"),
        ({"token": "only-the-token"}, "token is the session token"),
        (
            {"credentials": "anonymous", "key": "AKIAANON", "secret": "anon-secret"},
            "credentials 'anonymous' takes none from the config, so drop key and secret",
        ),
        ({"credentials": "config"}, "credentials 'config' needs key and secret"),
    ],
)
def test_credentials_that_cannot_log_in_are_refused_without_showing_them(values: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidConfigError, match=problem) as caught:
        _validate(**values)
    for field, value in values.items():
        if field != "credentials":  # a source's name, not a secret
            assert value not in str(caught.value)


def test_secret_references_pass_validation_and_stay_hidden() -> None:
    config = _validate(key="{{aws.key}}", secret="{{aws.secret}}", token="{{aws.token}}")
    assert (config.key, config.secret, config.token) == ("{{aws.key}}", "{{aws.secret}}", "{{aws.token}}")
    assert "aws.secret" not in repr(config)


def test_a_new_config_naming_no_credentials_is_told_what_to_set() -> None:
    with pytest.raises(InvalidConfigError) as caught:
        FLAVOR.validate_config({"path": "s3://bucket/root"})
    assert "say where the credentials come from: give key and secret, or set credentials to 'environment'" in str(
        caught.value
    )


@pytest.mark.parametrize(
    ("values", "source", "used"),
    [
        ({"credentials": "environment"}, "environment", "credentials from the environment's default chain (AWS_*"),
        ({"credentials": "anonymous"}, "anonymous", "no credentials (anonymous requests)"),
        ({"key": "AKIAKEY", "secret": "s3cr3t-value"}, "config", "credentials from the config's key and secret"),
        ({"credentials": "config", "key": "AKIAKEY", "secret": "s3cr3t-value"}, "config", "the config's key and"),
    ],
)
def test_each_source_is_named_without_a_value(values: dict[str, Any], source: str, used: str) -> None:
    config = _validate(**values)
    assert config.credentials_source == source
    assert used in config.credentials_used
    assert "AKIAKEY" not in config.credentials_used
    assert "s3cr3t" not in config.credentials_used


def test_anon_is_read_as_anonymous_credentials_with_a_deprecation() -> None:
    with pytest.warns(DeprecatedFieldWarning, match="'anon' is deprecated .* read as credentials = 'anonymous'"):
        config = FLAVOR.validate_config({"path": "s3://bucket/root", "anon": True})
    assert isinstance(config, S3ArtifactStoreConfig)
    assert config.credentials_source == "anonymous"


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("aws_access_key_id", "key"),
        ("aws_secret_access_key", "secret"),
        ("aws_session_token", "token"),
        ("region_name", "region"),
        ("endpoint_url", "endpoint_url"),
    ],
)
def test_client_kwargs_refuse_what_has_a_field_of_its_own(name: str, field: str) -> None:
    with pytest.raises(InvalidConfigError) as caught:
        _validate(client_kwargs={name: "in-client-kwargs"})
    assert f"client_kwargs: {name!r} does not belong here; give it as the {field!r} field" in str(caught.value)
    assert "in-client-kwargs" not in str(caught.value)


def test_dict_fields_take_other_options() -> None:
    config = _validate(
        client_kwargs={"verify": False},
        config_kwargs={"s3": {"addressing_style": "path"}, "max_pool_connections": 50},
        s3_additional_kwargs={"ServerSideEncryption": "aws:kms"},
    )
    assert config.config_kwargs["s3"] == {"addressing_style": "path"}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"connect_timeout": 0}, "connect_timeout"),
        ({"read_timeout": -1}, "read_timeout"),
        ({"retries": -1}, "retries"),
    ],
)
def test_timeouts_must_be_positive_and_retries_not_negative(values: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidConfigError, match=f"{field}: "):
        _validate(**values)


def test_numbers_from_the_command_line_are_read() -> None:
    config = _validate(connect_timeout="2.5", read_timeout="4", retries="1")
    assert (config.connect_timeout, config.read_timeout, config.retries) == (2.5, 4.0, 1)


def test_the_defaults_bound_every_request() -> None:
    config = _validate()
    assert (config.connect_timeout, config.read_timeout, config.retries) == (5.0, 30.0, 2)


def test_settings_take_request_parameters_only() -> None:
    settings = FLAVOR.validate_settings({"s3_additional_kwargs": {"StorageClass": "GLACIER_IR"}})
    assert settings is not None
    with pytest.raises(InvalidConfigError, match="settings for the 's3' flavor"):
        FLAVOR.validate_settings({"endpoint_url": "http://elsewhere"})


def test_a_config_built_directly_never_quotes_its_secret_in_a_validation_error() -> None:
    from pydantic import ValidationError

    marker = "s3-secret-marker-91f2"
    for values in (
        {"key": "AKIAMARKER", "secret": marker, "path": "s3://bucket/root", "region": 12},  # one bad field
        {"key": "AKIAMARKER", "secret": marker},  # a missing field quotes the whole input
    ):
        with pytest.raises(ValidationError) as caught:
            S3ArtifactStoreConfig(**values)
        assert marker not in str(caught.value)
        assert "input_value" not in str(caught.value)
        assert marker not in repr(caught.value)


def test_a_refusal_from_the_service_names_the_source_it_refused() -> None:
    from cargohold_s3.store import standard_error

    config = _validate(key="AKIAKEY", secret="s3cr3t-value")
    refused = standard_error(PermissionError("Access Denied"), "http://127.0.0.1:9", config.credentials_used)
    assert isinstance(refused, PermissionError)
    assert str(refused) == (
        "the S3 endpoint http://127.0.0.1:9 refused credentials from the config's key and secret: Access Denied"
    )
