"""``DescribeConnector`` gives an agent every connector's full contract: identity in English
and Arabic with a version, governance, reliability, and for each operation the schema of what
it takes (every field described) and, where it can be undone, of what it returns."""

from __future__ import annotations

import re
from pathlib import Path

from google.protobuf import json_format

from adapters.plugins import PLUGINS
from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.catalogue import declared_descriptors
from tests.support.gateway import gateway_settings, running_gateway

SEMVER = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")


def described_fields(schema: dict[str, object]) -> list[str]:
    """The names of the schema's top-level fields that carry no description."""
    properties = schema.get("properties", {})
    assert isinstance(properties, dict)
    return [name for name, field in properties.items() if not field.get("description")]


async def test_every_connector_is_described_in_full(tmp_path: Path) -> None:
    declared = {d.key: d for d in declared_descriptors()}
    async with running_gateway(gateway_settings(tmp_path)) as gw:
        for plugin in PLUGINS:
            answer = await gw.stub.DescribeConnector(
                pb.DescribeConnectorRequest(connector_key=plugin.key), timeout=5
            )
            d = answer.connector
            assert d.key == plugin.key
            assert d.display_name.strip()
            assert any("\u0600" <= ch <= "\u06ff" for ch in d.display_name_ar), d.key
            assert SEMVER.match(d.version), d.version
            assert d.contract_url.startswith("https://")
            assert d.timeout_ms > 0
            assert d.retry_policy.max_retries >= 0
            assert len(d.retry_policy.backoff_ms) >= d.retry_policy.max_retries
            assert d.data_classification != pb.DATA_CLASSIFICATION_UNSPECIFIED
            assert d.rate_limit_per_second > 0
            assert d.rate_limit_burst >= 1
            assert d.operations, d.key
            events = set(d.audit_event_types)
            for op in d.operations:
                where = f"{d.key}.{op.name}"
                assert op.description.strip(), where
                assert op.policy_class != pb.POLICY_CLASS_UNSPECIFIED, where
                assert op.idempotency != pb.IDEMPOTENCY_UNSPECIFIED, where
                assert {op.success_event, op.failure_event} <= events, where
                payload = json_format.MessageToDict(op.payload_schema)
                assert payload.get("type") == "object", where
                assert described_fields(payload) == [], f"{where}: fields without description"
                if op.compensation:
                    assert op.compensation in {o.name for o in d.operations}, where
                    assert json_format.MessageToDict(op.result_schema), where
            # What the gateway serves is what the catalogue in the README was written from.
            assert d.operations == declared[d.key].operations
            assert (d.version, d.registered, d.sandbox) == (
                declared[d.key].version,
                declared[d.key].registered,
                declared[d.key].sandbox,
            )
