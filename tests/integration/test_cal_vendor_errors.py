"""Cal.com's failures, as Prism answers them when asked with ``Prefer: code=N`` (the Prism
variant of the description declares a ``default`` error response with Cal.com's error body),
mapped to the gateway's documented reasons with the vendor's status and code kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from tests.adapters.cal.examples import VALID
from tests.adapters.cal.rig import CalRig, execute, prism_rig
from tests.support.prism import PrismServers

pytestmark = pytest.mark.timeout(120)

ALL_ATTEMPTS = 4  # the first and the three retries of the declared policy
CAL_CODE = "BadRequestException"  # the code in the Prism variant's example error body
CAL_MESSAGE = "Invalid request"


@pytest.fixture
async def rig(tmp_path: Path, prism: PrismServers) -> AsyncIterator[CalRig]:
    async with prism_rig(tmp_path, prism) as rig:
        yield rig


READS = [
    (400, grpc.StatusCode.FAILED_PRECONDITION, "VENDOR_REJECTED", 1),
    (401, grpc.StatusCode.FAILED_PRECONDITION, "VENDOR_AUTH_FAILED", 1),
    (403, grpc.StatusCode.FAILED_PRECONDITION, "VENDOR_AUTH_FAILED", 1),
    (404, grpc.StatusCode.FAILED_PRECONDITION, "VENDOR_REJECTED", 1),
    (429, grpc.StatusCode.RESOURCE_EXHAUSTED, "VENDOR_RATE_LIMITED", ALL_ATTEMPTS),
    (500, grpc.StatusCode.UNAVAILABLE, "VENDOR_ERROR", 1),
    (503, grpc.StatusCode.UNAVAILABLE, "VENDOR_UNAVAILABLE", ALL_ATTEMPTS),
]


@pytest.mark.parametrize(("status", "code", "reason", "attempts"), READS)
async def test_a_reads_failure_is_mapped_keeping_the_vendors_status_and_code(
    rig: CalRig, status: int, code: grpc.StatusCode, reason: str, attempts: int
) -> None:
    assert rig.prefer is not None
    rig.prefer.code = status
    seen = await rig.refused(execute("get_booking", VALID["get_booking"]))
    assert (seen.code, seen.reason) == (code, reason)
    assert seen.metadata["vendor_status"] == str(status)
    assert seen.metadata["vendor_code"] == CAL_CODE
    assert seen.metadata["attempts"] == str(attempts)
    assert rig.vendor.statuses == [status] * attempts
    # Cal.com's own words stay out of the message; in the metadata only their shape shows.
    assert CAL_MESSAGE not in seen.message
    assert seen.metadata["vendor_message"] == f"<string:{len(CAL_MESSAGE)}>"
    assert seen.metadata["connector_key"] == "cal"
    assert (seen.retry_delay_ms is not None) == (
        reason in ("VENDOR_RATE_LIMITED", "VENDOR_UNAVAILABLE")
    )
    assert rig.outcomes() == [("booking_read_failed", "failed", reason)]


async def test_a_refused_booking_is_stored_and_replayed(rig: CalRig) -> None:
    assert rig.prefer is not None
    request = await rig.approved(execute("create_booking", VALID["create_booking"], key="b-400"))
    rig.prefer.code = 400
    seen = await rig.refused(request)
    assert (seen.reason, seen.metadata["vendor_code"], seen.metadata["attempts"]) == (
        "VENDOR_REJECTED",
        CAL_CODE,
        "1",
    )
    rig.prefer.code = None  # Cal.com would now accept it: the stored answer still stands
    again = await rig.refused(request)
    assert (again.reason, again.metadata["replayed"]) == ("VENDOR_REJECTED", "true")
    assert len(rig.vendor.requests) == 1
    assert rig.outcomes()[-2:] == [
        ("booking_failed", "failed", "VENDOR_REJECTED"),
        ("execution_replayed", "refused", "VENDOR_REJECTED"),
    ]


async def test_a_booking_cal_com_failed_on_is_of_unknown_outcome(rig: CalRig) -> None:
    assert rig.prefer is not None
    request = await rig.approved(execute("create_booking", VALID["create_booking"], key="b-500"))
    rig.prefer.code = 500
    seen = await rig.refused(request)
    assert (seen.code, seen.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
    assert (seen.metadata["cause"], seen.metadata["vendor_status"]) == ("VENDOR_ERROR", "500")
    assert seen.metadata["execution_id"]
    assert len(rig.vendor.requests) == 1  # never repeated blindly
    assert rig.outcomes()[-1] == ("booking_failed", "unknown", "OUTCOME_UNKNOWN")


async def test_a_rate_limited_booking_is_retried_then_given_back(rig: CalRig) -> None:
    assert rig.prefer is not None
    request = await rig.approved(execute("create_booking", VALID["create_booking"], key="b-429"))
    rig.prefer.code = 429
    seen = await rig.refused(request)
    assert (seen.reason, seen.metadata["attempts"]) == ("VENDOR_RATE_LIMITED", str(ALL_ATTEMPTS))
    assert rig.vendor.statuses == [429] * ALL_ATTEMPTS
    # Cal.com did not act: the key and the approval are free, so the same call books now.
    rig.prefer.code = None
    booked = await rig.run(request)
    assert (booked.replayed, booked.result["uid"]) == (False, "booking_uid_123")
    assert rig.vendor.statuses == [429] * ALL_ATTEMPTS + [201]
