"""The gcs config built directly: a validation error never quotes the service-account key it was given."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cargohold_gcs.flavor import GCSArtifactStoreConfig


def test_a_service_account_key_never_shows_in_a_validation_error() -> None:
    key = {
        "type": "service_account",
        "client_email": "kit@example.iam.gserviceaccount.com",
        "private_key": "-----BEGIN PRIVATE KEY-----gcs-marker-3c7a-----END PRIVATE KEY-----",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    for values in ({"path": "gs://bucket/x", "token": key, "zonal_hns_support": "perhaps"}, {"token": key}):
        with pytest.raises(ValidationError) as caught:
            GCSArtifactStoreConfig(**values)
        assert "gcs-marker-3c7a" not in str(caught.value)
        assert "input_value" not in str(caught.value)
        assert "gcs-marker-3c7a" not in repr(caught.value)
