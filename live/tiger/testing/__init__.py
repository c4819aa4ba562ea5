"""Test doubles for the Tiger adapter: a loopback gateway and throw-away RSA keys.

Importable by tests only; nothing in a production path imports this package.
"""

from live.tiger.testing.gateway import FakeOrder, FakeTigerGateway, Fault
from live.tiger.testing.keys import RsaKeyPair, generate_key_pair

__all__ = ["Fault", "FakeOrder", "FakeTigerGateway", "RsaKeyPair", "generate_key_pair"]
