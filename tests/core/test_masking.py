"""The log masker hides each secret value, the pieces of it a library might log alone, and the value in an
exception's text, for any logger; what is not secret stays readable."""

from __future__ import annotations

import io
import json
import logging
import uuid

from cargohold._masking import mask


def _key() -> dict[str, str]:
    pem_lines = [uuid.uuid4().hex * 2 for _ in range(3)]
    return {
        "type": "service_account",
        "private_key_id": uuid.uuid4().hex,
        "private_key": "-----BEGIN PRIVATE KEY-----\n" + "\n".join(pem_lines) + "\n-----END PRIVATE KEY-----\n",
        "client_email": "writer@example.iam.gserviceaccount.com",
    }


def test_a_json_key_hides_its_secret_fields_and_each_long_line(debug_log: io.StringIO) -> None:
    key = _key()
    mask(json.dumps(key))
    log = logging.getLogger("a.library")
    log.debug("signing with key id %s", key["private_key_id"])
    log.debug("pem: %s", key["private_key"])
    log.debug("one line: %s", key["private_key"].splitlines()[2])
    logged = debug_log.getvalue()
    assert logged.splitlines() == ["signing with key id ********", "pem: ********", "one line: ********"]
    log.debug("%s, kind %s for %s", key["private_key"].splitlines()[0], key["type"], key["client_email"])
    assert debug_log.getvalue().splitlines()[-1] == (  # what every PEM and key has is no secret, and stays
        "-----BEGIN PRIVATE KEY-----, kind service_account for writer@example.iam.gserviceaccount.com"
    )


def test_an_exception_logged_with_its_traceback_hides_the_secret(debug_log: io.StringIO) -> None:
    secret = f"exc-secret-{uuid.uuid4().hex}"
    mask(secret)
    try:
        raise ConnectionError(f"cannot connect with password={secret}")
    except ConnectionError:
        logging.getLogger("a.library").exception("request failed")
    logged = debug_log.getvalue()
    assert "ConnectionError: cannot connect with password=********" in logged
    assert "Traceback" in logged
    assert secret not in logged
