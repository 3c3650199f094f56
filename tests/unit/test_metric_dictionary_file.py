"""The dictionary file: valid against its published schema, read into typed definitions,
each metric implemented exactly once, and served as it is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from google.protobuf import json_format
from pydantic import ValidationError

from gateway.dictionary import messages
from gateway.dictionary.definitions import (
    DICTIONARY_FILE,
    SCHEMA_FILE,
    Dictionary,
    SourceKind,
    dictionary,
    read_dictionary,
)
from gateway.dictionary.implementations import BUSINESS, GATEWAY, IMPLEMENTED
from gateway.dictionary.settings import DictionarySettings
from tests.support.readme import readme_toml

CANONICAL = {
    "revenue_actual",
    "pipeline_value",
    "win_rate",
    "cac",
    "consent_coverage",
    "approval_sla_compliance",
    "connector_health",
}
BUSINESS_TABLES = {"deals", "leads", "consents", "commissions", "marketing_spend", "customers"}


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DICTIONARY_FILE.read_text(encoding="utf-8"))
    return loaded


def schema_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_file_is_valid_against_its_schema() -> None:
    errors = [f"{list(e.path)}: {e.message}" for e in schema_validator().iter_errors(document())]
    assert errors == []


def test_the_schema_refuses_what_the_dictionary_must_not_hold() -> None:
    validator = schema_validator()
    broken = document()
    broken["metrics"][0]["unit"] = "percent"
    broken["metrics"][1]["surprise"] = True
    del broken["metrics"][2]["owner"]
    broken["metrics"][3]["period"]["kind"] = "whenever"
    broken["metrics"][4]["definition"]["ar"] = "not Arabic"
    broken["metrics"][5]["name"] = "dictionary"  # the HTTP route of the definitions
    found = {tuple(e.path)[:2] for e in validator.iter_errors(broken)}
    assert {("metrics", i) for i in range(6)} <= found


def test_the_seven_canonical_metrics_each_have_one_implementation_and_no_more() -> None:
    names = set(dictionary().names)
    assert names == CANONICAL
    assert set(IMPLEMENTED) == names
    assert not set(BUSINESS) & set(GATEWAY)
    by_source = {m.name: m.source for m in dictionary().metrics}
    assert {n for n, s in by_source.items() if s is SourceKind.BUSINESS_DATABASE} == set(BUSINESS)
    assert {n for n, s in by_source.items() if s is SourceKind.GATEWAY} == set(GATEWAY)


def test_every_metric_is_defined_in_english_and_arabic_with_an_owner() -> None:
    for metric in dictionary().metrics:
        assert metric.definition.en, metric.name
        assert metric.definition.ar, metric.name
        assert metric.owner, metric.name
        assert metric.components, metric.name


def test_the_business_metrics_read_only_the_documented_table_shapes() -> None:
    book = dictionary()
    assert {t.name for t in book.tables} == BUSINESS_TABLES
    columns = {t.name: {c.name for c in t.columns} for t in book.tables}
    for metric in book.metrics:
        if metric.source is SourceKind.BUSINESS_DATABASE:
            for read in metric.reads:
                assert set(read.columns) <= columns[read.table], (metric.name, read.table)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda d: d["metrics"].append(d["metrics"][0]), "metric defined twice: revenue_actual"),
        (
            lambda d: d["metrics"][0]["reads"][0]["columns"].append("discount"),
            "revenue_actual reads deals(discount)",
        ),
        (
            lambda d: d["tables"][0]["columns"][0].update(type="uuid"),
            "deals.deal_id has no declared type",
        ),
    ],
)
def test_reading_refuses_a_dictionary_that_contradicts_itself(
    tmp_path: Path, change: Any, complaint: str
) -> None:
    broken = document()
    change(broken)
    path = tmp_path / "metrics.v1.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(ValidationError, match=complaint.replace("(", r"\(").replace(")", r"\)")):
        read_dictionary(path)


def test_list_metrics_serves_the_file_as_written() -> None:
    served = json_format.MessageToDict(
        messages.listing(dictionary(), "SAR"),
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )
    written = document()
    assert served["dictionary_version"] == written["version"]
    assert served["reporting_currency"] == "SAR"
    assert served["conventions"] == written["conventions"]
    assert served["currencies"] == written["currencies"]
    assert served["column_types"] == written["column_types"]
    assert served["tables"] == written["tables"]
    kinds = {"within": "PERIOD_KIND_WITHIN", "as_of_end": "PERIOD_KIND_AS_OF_END"}
    kinds["current"] = "PERIOD_KIND_CURRENT"
    assert served["metrics"] == [
        {
            "name": m["name"],
            "definition_en": m["definition"]["en"],
            "definition_ar": m["definition"]["ar"],
            "owner": m["owner"],
            "unit": m["unit"],
            "source": m["source"],
            "period_kind": kinds[m["period"]["kind"]],
            "period_applies": m["period"]["applies"],
            "reads": m["reads"],
            "formula": m["formula"],
            "rounding": m["rounding"],
            "components": m["components"],
            "null_reasons": [
                {"name": n["reason"], "meaning": n["meaning"]} for n in m["null_when"]
            ],
        }
        for m in written["metrics"]
    ]


def test_the_typed_model_reads_every_field_of_the_file() -> None:
    """Nothing in the file is lost on the way to ListMetrics: the model forbids unknown keys
    and round-trips to the same document."""
    model = Dictionary.model_validate(document())
    again = model.model_dump(mode="json", by_alias=True, exclude_defaults=False)
    assert again == document()


def test_the_readme_configuration_is_what_the_settings_take() -> None:
    settings = DictionarySettings.model_validate(readme_toml("tenant_databases")["dictionary"])
    assert settings.currency == "SAR"
    assert (settings.database_for("acme") or "").startswith("sqlite:")
    assert (settings.database_for("default") or "").startswith("postgresql:")
    assert settings.database_for("globex") is None


def test_settings_refuse_an_unknown_currency_or_key() -> None:
    with pytest.raises(ValidationError, match="one of the dictionary's currencies"):
        DictionarySettings.model_validate({"currency": "XYZ"})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        DictionarySettings.model_validate({"databse_url": "sqlite:x.db"})


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"database_url": "mysql://reader:pw@db/sales"}, "dictionary.database_url"),
        ({"tenant_databases": {"acme": "pw@db.sqlite"}}, "dictionary.tenant_databases.acme"),
    ],
)
def test_a_url_the_gateway_cannot_open_stops_the_start_unquoted(
    fields: dict[str, Any], key: str
) -> None:
    settings = DictionarySettings.model_validate(fields)
    with pytest.raises(ValueError, match=r"starts with sqlite: .* or postgresql:") as caught:
        settings.check_urls()
    assert str(caught.value).startswith(f"{key}: ")
    assert "pw@db" not in str(caught.value)
