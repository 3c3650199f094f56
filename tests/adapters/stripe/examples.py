"""Valid payloads of the stripe connector's operations, as an agent sends them."""

from __future__ import annotations

from typing import Any

PI = "pi_3MtwBwLkdIwHu7ix28a3tqPa"
# One valid payload per operation, every field filled.
VALID: dict[str, dict[str, Any]] = {
    "get_payment_intent": {"payment_intent": PI},
    "create_customer": {
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "phone": "+14155550123",
        "description": "Met at the fair",
        "metadata": {"crm_id": "42"},
    },
    "create_payment_intent": {
        "amount": 2000,
        "currency": "sar",
        "customer": "cus_NffrFeUfNV2Hib",
        "payment_method": "pm_card_visa",
        "description": "Order 1001",
        "receipt_email": "buyer@example.com",
        "metadata": {"order_id": "1001"},
    },
    "cancel_payment_intent": {"payment_intent": PI, "cancellation_reason": "requested_by_customer"},
    "create_refund": {
        "payment_intent": PI,
        "amount": 500,
        "reason": "duplicate",
        "metadata": {"ticket": "T-9"},
    },
    "create_payment_link": {
        "line_items": [{"price": "price_1MoBy5LkdIwHu7ixZhnattbh", "quantity": 2}],
        "redirect_url": "https://shop.example.com/thanks",
        "metadata": {"campaign": "spring"},
    },
    "delete_customer": {"customer": "cus_NffrFeUfNV2Hib"},
    "deactivate_payment_link": {"payment_link": "plink_1MoC3ULkdIwHu7ixZjtGpVl2"},
    "reverse_payment_intent": {"payment_intent": PI},
}
