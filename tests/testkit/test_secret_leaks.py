"""The kit fails a flavor whose config quotes a secret in its validation errors, and passes cargohold's default."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import ConfigDict

from cargohold import SecretField
from cargohold.artifact_stores import BaseArtifactStoreConfig, BaseArtifactStoreFlavor
from cargohold_testkit import FlavorTests


class QuietConfig(BaseArtifactStoreConfig):
    SUPPORTED_SCHEMES: ClassVar[frozenset[str]] = frozenset({"quiet://"})
    token: str | None = SecretField(None)


class TalkativeConfig(QuietConfig):
    model_config = ConfigDict(hide_input_in_errors=False)  # the mistake


class QuietFlavor(BaseArtifactStoreFlavor):
    name = "quiet"
    config_class = QuietConfig
    implementation_source = "nowhere:Store"


class TalkativeFlavor(QuietFlavor):
    name = "talkative"
    config_class = TalkativeConfig


VALUES = {"path": "quiet://b/r", "token": "tok-marker-4411"}


def test_a_config_that_quotes_its_input_fails_the_kit_naming_the_setting() -> None:
    with pytest.raises(pytest.fail.Exception) as failure:
        FlavorTests().test_validation_errors_hide_secret_values(TalkativeFlavor(), VALUES)
    message = str(failure.value)
    assert "quotes the input it was given" in message
    assert "hide_input_in_errors=True" in message
    assert "tok-marker-4411" not in message


def test_cargohold_config_base_passes() -> None:
    FlavorTests().test_validation_errors_hide_secret_values(QuietFlavor(), VALUES)
