"""Issue 17, finding 2: a Kafka TLS setting under a plaintext protocol is refused (the
SSL context would be built and ignored); under SSL/SASL_SSL it is used."""

from __future__ import annotations

import ssl

import pytest
from drcommon.config import KafkaSettings, load_settings
from drcommon.errors import ConfigError
from drcommon.kafka import client_options
from drcontrol.settings import ControlSettings
from pydantic import ValidationError


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SASL_PLAINTEXT"])
def test_tls_with_a_plaintext_protocol_is_a_configuration_error(protocol: str) -> None:
    extra = {"sasl_mechanism": "SCRAM-SHA-512", "sasl_username": "u"} if "SASL" in protocol else {}
    with pytest.raises(ValidationError, match="would not be encrypted"):
        KafkaSettings(security_protocol=protocol,  # type: ignore[arg-type]
                      tls={"enabled": True}, **extra)
    with pytest.raises(ConfigError, match=r"kafka: .*would not be encrypted"):
        load_settings(ControlSettings, None, kafka={"security_protocol": protocol,
                                                    "tls": {"enabled": True}, **extra})


def test_an_ssl_protocol_gets_a_verifying_context() -> None:
    settings = KafkaSettings(security_protocol="SSL", tls={"enabled": True})  # type: ignore[arg-type]
    options = client_options(settings)
    context = options["ssl_context"]
    assert options["security_protocol"] == "SSL"
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


def test_a_peer_with_tls_and_a_plain_url_is_refused() -> None:
    """The same rule for control's peers: tls.enabled under http:// is refused."""
    with pytest.raises(ConfigError, match="would not be encrypted"):
        load_settings(ControlSettings, None, peers={
            "apply": {"url": "http://apply:8702", "tls": {"enabled": True}}})
    settings = load_settings(ControlSettings, None, peers={
        "apply": {"url": "https://apply:8702", "tls": {"enabled": True}}})
    assert settings.peers.apply.tls.enabled
