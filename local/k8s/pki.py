"""Throw-away certificates and keys for a local API server, made with the openssl CLI."""

import subprocess
from dataclasses import dataclass
from pathlib import Path

# A test cluster lives for minutes; a short validity keeps stray copies useless.
_VALID_DAYS = "2"


@dataclass(frozen=True)
class ClusterPki:
    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    service_account_key: Path
    service_account_public_key: Path


def create_pki(directory: Path) -> ClusterPki:
    """A CA, a serving certificate for 127.0.0.1 signed by it, and a service-account key pair."""
    directory.mkdir(parents=True, exist_ok=True)
    pki = ClusterPki(
        ca_cert=directory / "ca.crt",
        ca_key=directory / "ca.key",
        serving_cert=directory / "apiserver.crt",
        serving_key=directory / "apiserver.key",
        service_account_key=directory / "sa.key",
        service_account_public_key=directory / "sa.pub",
    )
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", _VALID_DAYS,
        "-subj", "/CN=carepulse-local-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout", str(pki.ca_key), "-out", str(pki.ca_cert),
    )  # fmt: skip
    request = directory / "apiserver.csr"
    _openssl(
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kube-apiserver",
        "-keyout", str(pki.serving_key), "-out", str(request),
    )  # fmt: skip
    extensions = directory / "apiserver.ext"
    extensions.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "extendedKeyUsage=serverAuth\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
    )
    _openssl(
        "x509", "-req", "-in", str(request), "-days", _VALID_DAYS, "-set_serial", "2",
        "-CA", str(pki.ca_cert), "-CAkey", str(pki.ca_key), "-extfile", str(extensions),
        "-out", str(pki.serving_cert),
    )  # fmt: skip
    _openssl("genpkey", "-algorithm", "RSA", "-out", str(pki.service_account_key))
    _openssl(
        "pkey", "-in", str(pki.service_account_key), "-pubout",
        "-out", str(pki.service_account_public_key),
    )  # fmt: skip
    for key in (pki.ca_key, pki.serving_key, pki.service_account_key):
        key.chmod(0o600)
    return pki


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)
