"""A fake-gcs-server for the session, a bucket in it, a fresh store (its own prefix) per test, and a
stand-in for Google's OAuth token endpoint so that real service-account keys can log in offline."""

from __future__ import annotations

import base64
import json
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from cargohold_gcs.flavor import GCSArtifactStoreFlavor
from cargohold_gcs.store import GCSArtifactStore
from cargohold_testkit.servers import EmulatorServer, start_gcs

BUCKET = "cargohold-tests"
StoreFactory = Callable[..., GCSArtifactStore]


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """fake-gcs-server on a free loopback port; if it cannot start, every test using it errors, saying why."""
    server = start_gcs(tmp_path_factory.mktemp("fake-gcs"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def bucket(gcs_server: EmulatorServer) -> str:
    """The session's bucket; each test works under its own prefix in it."""
    store = build_store(gcs_server.endpoint, f"gs://{BUCKET}")
    store.filesystem.mkdir(BUCKET)
    return BUCKET


def build_store(endpoint: str, path: str, **config: Any) -> GCSArtifactStore:
    """A store on the server at ``endpoint``, built through the flavor as the registry builds one."""
    values = {"path": path, "endpoint_url": endpoint, **config}
    if "token" not in config:
        values.setdefault("credentials", "anonymous")  # fake-gcs-server takes any login, or none
    store = GCSArtifactStoreFlavor().build(values, name="test")
    assert isinstance(store, GCSArtifactStore)
    return store


@pytest.fixture
def make_store(gcs_server: EmulatorServer, bucket: str) -> StoreFactory:
    """Build a store with extra config under a fresh prefix of the session bucket."""

    def make(**config: Any) -> GCSArtifactStore:
        return build_store(gcs_server.endpoint, f"gs://{bucket}/{uuid.uuid4().hex[:12]}", **config)

    return make


@pytest.fixture
def store(make_store: StoreFactory) -> GCSArtifactStore:
    """A fresh, empty store: a new prefix in the session bucket."""
    return make_store()


class TokenEndpoint:
    """Google's OAuth token endpoint, as far as a service-account key needs: it grants any signed assertion."""

    def __init__(self) -> None:
        self.granted: list[str] = []  # the client_email of each grant, from the assertion's claims
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                assertion = parse_qs(body.decode())["assertion"][0]
                claims = json.loads(base64.urlsafe_b64decode(assertion.split(".")[1] + "=="))
                endpoint.granted.append(claims["iss"])
                answer = json.dumps({"access_token": "ya29.test", "expires_in": 3600, "token_type": "Bearer"})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="session")
def token_endpoint() -> Iterator[TokenEndpoint]:
    endpoint = TokenEndpoint()
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()


@pytest.fixture(scope="session")
def service_account_key(token_endpoint: TokenEndpoint) -> dict[str, str]:
    """A real service-account JSON key (a fresh RSA key) whose token_uri is the local token endpoint."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": "cargohold-test",
        "private_key_id": uuid.uuid4().hex,
        "private_key": pem,
        "client_email": f"writer-{uuid.uuid4().hex[:8]}@cargohold-test.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_endpoint.url,
    }


@pytest.fixture
def key_file(tmp_path: Path, service_account_key: dict[str, str]) -> Path:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(service_account_key))
    return path


@pytest.fixture
def store_on() -> Callable[..., GCSArtifactStore]:
    """``build_store`` itself, for tests that start servers of their own."""
    return build_store


@pytest.fixture
def unused_endpoint() -> str:
    """An http URL on a loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
