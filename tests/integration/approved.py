"""A class B request as an agent re-sends it once a person approved it."""

from __future__ import annotations

from connectorgateway.v1 import connector_service_pb2 as pb
from tests.integration.reasons.observe import granted
from tests.support.gateway import RunningGateway


async def approved(gw: RunningGateway, request: pb.ExecuteRequest) -> pb.ExecuteRequest:
    """``request`` (sent once to ask for the approval) with the approval an operator granted."""
    approval_id = await granted(gw, request)
    approved_request = pb.ExecuteRequest()
    approved_request.CopyFrom(request)
    approved_request.approval_id = approval_id
    return approved_request
