"""Throw-away RSA key pairs for tests (generated in memory, never written to the repository)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RsaKeyPair:
    """``private_b64``: PKCS#8 DER, base64 (what tigeropen signs with); ``private_pem``: the same
    key as PKCS#1 PEM text (what Tiger's console hands out); ``public_b64``: SPKI DER, base64."""

    public_b64: str
    private_b64: str = field(repr=False)
    private_pem: str = field(repr=False)


def generate_key_pair(bits: int = 2048) -> RsaKeyPair:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    der8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    pem1 = key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()
    pub = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return RsaKeyPair(public_b64=base64.b64encode(pub).decode(),
                      private_b64=base64.b64encode(der8).decode(), private_pem=pem1)
