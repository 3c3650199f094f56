"""The SOQL writer: names are checked, values are typed literals, and no value can end its
literal early. The fake org's own SOQL reader (written apart from the gateway's writer) reads
the text back, so "what the query says" is checked by a second reader, not by the writer."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from adapters.salesforce import soql
from adapters.salesforce.operations import QueryRecords
from adapters.salesforce.soql_reader import Comparison, SoqlError, read_string
from adapters.salesforce.soql_reader import parse as parse_soql

NO_ESCAPE = [*map(chr, range(0x00, 0x08)), "\x0b", *map(chr, range(0x0E, 0x20))]
C1 = [*map(chr, range(0x7F, 0xA0))]
# Text SOQL can carry: anything but the control characters it has no escape for.
SENDABLE = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=NO_ESCAPE + C1),
    max_size=255,
)
# What a filter's text may hold: of the control characters, only tab, CR and LF.
FILTER_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",), blacklist_characters=[*NO_ESCAPE, "\x08", "\x0c", *C1]
    ),
    max_size=255,
)


@settings(max_examples=300)
@given(SENDABLE)
@example("x' OR Name != 'x")
@example("\\' OR Name != \\'")
@example("\\")
@example("'")
@example('"\n\r\t\b\f')
def test_a_string_literal_reads_back_as_exactly_the_value(text: str) -> None:
    literal = soql.string(text)
    value, end = read_string(literal, 0)
    assert (value, end) == (text, len(literal))


@settings(max_examples=200)
@given(FILTER_TEXT)
@example("Doe' OR LastName != '")
@example("Doe' AND Email != 'x' ORDER BY Name LIMIT 1 --")
def test_a_value_never_adds_a_condition(text: str) -> None:
    query = QueryRecords.model_validate(
        {
            "sobject": "Contact",
            "fields": ["Id"],
            "where": [{"field": "LastName", "op": "=", "string": text}],
            "limit": 5,
        }
    )
    parsed = parse_soql(query.to_soql())
    assert parsed.where == [Comparison("LastName", "=", text)]
    assert (parsed.sobject, parsed.fields, parsed.limit) == ("Contact", ["Id"], 5)


@pytest.mark.parametrize("control", ["\x00", "\x07", "\x0b", "\x1b", "\x7f", "\x85"])
def test_control_characters_without_an_escape_are_refused(control: str) -> None:
    with pytest.raises(ValueError, match="control character"):
        soql.string(f"a{control}b")
    with pytest.raises(ValidationError):
        QueryRecords.model_validate(
            {
                "sobject": "Lead",
                "fields": ["Id"],
                "where": [{"field": "LastName", "op": "=", "string": f"a{control}b"}],
            }
        )


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (0, "0"),
        (12000.0, "12000"),
        (-5.5, "-5.5"),
        (1e-7, "0.0000001"),
        (1e15, "1000000000000000"),
        (123.456, "123.456"),
    ],
)
def test_numbers_are_plain_decimals(value: float, literal: str) -> None:
    assert soql.number(value) == literal
    assert parse_soql(f"SELECT Id FROM Lead WHERE Amount = {literal} LIMIT 1").where[0].literal == (
        float(value)
    )


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e16, -1e16, True, "1"])
def test_numbers_that_are_not_finite_decimals_are_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="number literal"):
        soql.number(value)


def test_dates_datetimes_and_booleans_are_unquoted_literals() -> None:
    assert soql.date("2025-12-31") == "2025-12-31"
    assert soql.date_time("2025-09-05T09:00:00Z") == "2025-09-05T09:00:00Z"
    assert (soql.boolean(True), soql.boolean(False)) == ("true", "false")
    for bad in ("2025-02-30", "2025-1-1", "2025-12-31'", "2025-12-31 OR"):
        with pytest.raises(ValueError, match=r"date|month|day"):
            soql.date(bad)
    for bad in ("2025-09-05T09:00:00", "2025-09-05T09:00:00.123Z", "2025-09-05T25:00:00Z"):
        with pytest.raises(ValueError, match=r"date-time|hour"):
            soql.date_time(bad)


@pytest.mark.parametrize(
    "name",
    [
        "Name, Id",
        "Name FROM Lead",
        "Name)",
        "Name'",
        "1Name",
        "Name--",
        "Account..Name",
        ".Name",
        "A.B.C.D.E.F",
        "COUNT(Id)",
        "",
        "Név",
    ],
)
def test_names_outside_the_identifier_pattern_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not a field name"):
        soql.field(name)
    with pytest.raises(ValidationError):
        QueryRecords.model_validate({"sobject": "Lead", "fields": [name]})
    with pytest.raises(ValidationError):
        QueryRecords.model_validate(
            {
                "sobject": "Lead",
                "fields": ["Id"],
                "where": [{"field": name, "op": "=", "number": 1}],
            }
        )
    with pytest.raises(ValidationError):
        QueryRecords.model_validate(
            {"sobject": "Lead", "fields": ["Id"], "order_by": [{"field": name}]}
        )


def test_relationship_paths_and_namespaced_names_are_fields() -> None:
    for name in ("Account.Owner.Name", "ns__Customer_Id__c", "Id"):
        assert soql.field(name) == name


def test_a_whole_query_is_written_in_soql_order() -> None:
    query = QueryRecords.model_validate(
        {
            "sobject": "Opportunity",
            "fields": ["Id", "Name", "Account.Name"],
            "where": [
                {"field": "StageName", "op": "!=", "string": "Closed Lost"},
                {"field": "Amount", "op": ">=", "number": 1000},
                {"field": "CloseDate", "op": "<", "date": "2026-01-01"},
                {"field": "CreatedDate", "op": ">", "datetime": "2025-01-01T00:00:00Z"},
                {"field": "IsPrivate", "op": "=", "boolean": False},
            ],
            "order_by": [{"field": "Amount", "direction": "desc"}, {"field": "Name"}],
            "limit": 25,
        }
    )
    text = query.to_soql()
    assert text == (
        "SELECT Id, Name, Account.Name FROM Opportunity WHERE StageName != 'Closed Lost' AND "
        "Amount >= 1000 AND CloseDate < 2026-01-01 AND CreatedDate > 2025-01-01T00:00:00Z AND "
        "IsPrivate = false ORDER BY Amount DESC, Name ASC LIMIT 25"
    )
    parsed = parse_soql(text)
    assert len(parsed.where) == 5
    assert parsed.order_by == [("Amount", True), ("Name", False)]


@pytest.mark.parametrize(
    "query",
    [
        {"sobject": "Lead", "fields": ["Id FROM Lead WHERE Name != ''"]},
        {"sobject": "Lead", "fields": ["Id", "id"]},
        {"sobject": "Lead", "fields": []},
        {"sobject": "User", "fields": ["Id"]},
        {"sobject": "Lead", "fields": ["Id"], "limit": 201},
        {"sobject": "Lead", "fields": ["Id"], "limit": 0},
        {"sobject": "Lead", "fields": ["Id"], "limit": 1.5},
        {"sobject": "Lead", "fields": ["Id"], "limit": "10"},
        {"sobject": "Lead", "fields": ["Id"], "soql": "SELECT Id FROM Lead"},
        {
            "sobject": "Lead",
            "fields": ["Id"],
            "where": [{"field": "Name", "op": "LIKE", "string": "a%"}],
        },
        {"sobject": "Lead", "fields": ["Id"], "where": [{"field": "Name", "op": "="}]},
        {
            "sobject": "Lead",
            "fields": ["Id"],
            "where": [{"field": "Name", "op": "=", "string": "a", "number": 1}],
        },
        {
            "sobject": "Lead",
            "fields": ["Id"],
            "where": [{"field": "IsConverted", "op": "<", "boolean": True}],
        },
        {
            "sobject": "Lead",
            "fields": ["Id"],
            "where": [{"field": "Name", "op": "=", "string": None}],
        },
        {
            "sobject": "Lead",
            "fields": ["Id"],
            "where": [{"field": "Amount", "op": "=", "number": 1e16}],
        },
        {
            "sobject": "Lead",
            "fields": ["Id"],
            "where": [{"field": "Name", "op": "=", "string": "x" * 256}],
        },
        {
            "sobject": "Lead",
            "fields": ["Id"],
            "order_by": [{"field": "Name", "direction": "sideways"}],
        },
    ],
)
def test_a_query_outside_the_model_is_refused(query: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        QueryRecords.model_validate(query)


def test_a_query_too_long_for_a_url_is_refused() -> None:
    conditions = [{"field": f"Field_{i}__c", "op": "=", "string": "'" * 255} for i in range(20)]
    with pytest.raises(ValidationError, match="characters once encoded"):
        QueryRecords.model_validate({"sobject": "Lead", "fields": ["Id"], "where": conditions})


def test_the_fake_reader_refuses_what_salesforce_would() -> None:
    for text in (
        "SELECT Id FROM Lead WHERE Name = 'x LIMIT 1",
        "SELECT Id FROM Lead WHERE Name = 'a\\q' LIMIT 1",
    ):
        with pytest.raises(SoqlError):
            parse_soql(text)
