"""Checks a request an adapter sent against the vendor's published API description.

``VendorSchema.load(spec).check(request)`` finds the operation by method and path template
and checks the path, query and header parameters and the body (JSON, or a form whose
bracketed keys, ``metadata[order]`` and ``line_items[0][price]``, are decoded into nested
values, and whose strings are read as the numbers and booleans the schema asks for) against
the operation's schemas, with unknown properties refused: every object schema that lists
its properties and says nothing of others gets ``additionalProperties: false``, except where
``allOf`` combines it with others. A wrong field name, a missing required field or a wrong
encoding fails the test, naming each violation.

Every description is read as JSON Schema 2020-12: OpenAPI 3.0's ``nullable`` becomes a null
type and draft 4's boolean exclusive bounds become numbers. Formats are not checked.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote

import jsonschema
import yaml
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.support.prism import spec_file
from tests.support.vendor_recorder import RecordedRequest

_URI = "urn:vendor-spec"
# Headers an OpenAPI description may list but that the transport owns.
_IGNORED_HEADERS = frozenset({"authorization", "content-type", "accept"})
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@dataclass(frozen=True)
class _Operation:
    template: str
    method: str
    pointer: str  # JSON pointer of the operation object
    params: tuple[tuple[str, dict[str, Any]], ...]  # (pointer, parameter)


class VendorSchema:
    """One vendor's published description, ready to check requests against."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = _prepared(document)
        self.swagger2 = "swagger" in document
        self._registry: Registry[Any] = Registry().with_resource(
            _URI, DRAFT202012.create_resource(self.document)
        )
        self._validator_class = jsonschema.Draft202012Validator
        self._prefixes = _base_paths(document)
        self._operations = list(self._index())

    @classmethod
    def load(cls, spec: str) -> VendorSchema:
        """The description ``spec`` (relative to the vendor-specs folder), read once per run."""
        return _load(spec)

    # --- finding the operation -------------------------------------------------------------

    def _index(self) -> Iterator[_Operation]:
        for template, item in self.document["paths"].items():
            item_pointer = "/paths/" + _escape(template)
            shared = [
                (f"{item_pointer}/parameters/{i}", p)
                for i, p in enumerate(item.get("parameters", []))
            ]
            for method in _METHODS:
                if method not in item:
                    continue
                op_pointer = f"{item_pointer}/{method}"
                own = [
                    (f"{op_pointer}/parameters/{i}", p)
                    for i, p in enumerate(item[method].get("parameters", []))
                ]
                yield _Operation(template, method, op_pointer, tuple(self._merged(shared, own)))

    def _merged(
        self, shared: list[tuple[str, Any]], own: list[tuple[str, Any]]
    ) -> list[tuple[str, dict[str, Any]]]:
        params: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        for pointer, param in [*shared, *own]:
            pointer, resolved = self._deref(pointer, param)
            params[(resolved["in"], resolved["name"])] = (pointer, resolved)
        return list(params.values())

    def _deref(self, pointer: str, node: Any) -> tuple[str, Any]:
        while isinstance(node, dict) and "$ref" in node and len(node) == 1:
            pointer = node["$ref"].lstrip("#")
            node = self._at(pointer)
        return pointer, node

    def _at(self, pointer: str) -> Any:
        node: Any = self.document
        for part in pointer.strip("/").split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            node = node[int(key)] if isinstance(node, list) else node[key]
        return node

    def operation(self, method: str, path: str) -> tuple[_Operation, dict[str, str]]:
        method = method.lower()
        for candidate in self._candidate_paths(path):
            for op in self._operations:
                match = re.fullmatch(_template_regex(op.template), candidate)
                if match and op.method == method:
                    return op, match.groupdict()
        raise AssertionError(f"the description has no operation {method.upper()} {path}")

    def _candidate_paths(self, path: str) -> list[str]:
        paths = [path]
        paths.extend(
            path[len(prefix) :] for prefix in self._prefixes if path.startswith(prefix + "/")
        )
        return paths

    # --- checking ----------------------------------------------------------------------------

    def check(self, request: RecordedRequest) -> None:
        """Raises AssertionError naming every way ``request`` breaks the description."""
        problems = self.violations(request)
        if problems:
            where = f"{request.method} {request.path}"
            raise AssertionError(
                f"{where} breaks the vendor's description:\n- " + "\n- ".join(problems)
            )

    def violations(self, request: RecordedRequest) -> list[str]:
        op, path_values = self.operation(request.method, request.path)
        problems: list[str] = []
        query = _decoded(parse_qsl(request.query_string, keep_blank_values=True))
        declared_query: set[str] = set()
        body_param: tuple[str, dict[str, Any]] | None = None
        form_params: list[tuple[str, dict[str, Any]]] = []
        for pointer, param in op.params:
            where, name = param["in"], param["name"]
            if where == "body":
                body_param = (pointer, param)
                continue
            if where == "formData":
                form_params.append((pointer, param))
                continue
            schema_pointer = pointer + ("/schema" if "schema" in param else "")
            value: Any
            if where == "path":
                value = path_values.get(_group(name))
                present = value is not None
            elif where == "query":
                declared_query.add(name.removesuffix("[]"))
                value = query.get(name.removesuffix("[]"))
                present = value is not None
            elif where == "header":
                if name.lower() in _IGNORED_HEADERS:
                    continue
                value = request.headers.get(name)
                present = value is not None
            else:
                continue
            if not present:
                if param.get("required"):
                    problems.append(f"the required {where} parameter {name!r} is missing")
                continue
            problems += self._errors(
                self._coerce(value, self._schema_at(schema_pointer)),
                schema_pointer,
                f"{where} parameter {name!r}",
            )
        for name in query:
            if name not in declared_query:
                problems.append(f"the query parameter {name!r} is not in the description")
        problems += self._body_violations(request, op, body_param, form_params)
        return problems

    def _body_violations(
        self,
        request: RecordedRequest,
        op: _Operation,
        body_param: tuple[str, dict[str, Any]] | None,
        form_params: list[tuple[str, dict[str, Any]]],
    ) -> list[str]:
        operation = self._at(op.pointer)
        media = request.content_type
        if self.swagger2:
            if form_params:
                return self._form_params_violations(request, form_params)
            if body_param is None:
                return ["a body was sent to an operation that takes none"] if request.body else []
            pointer, param = body_param
            if not request.body:
                return ["the required body is missing"] if param.get("required") else []
            return self._body_errors(request, media, pointer + "/schema")
        body_pointer, body = self._deref(op.pointer + "/requestBody", operation.get("requestBody"))
        if body is None:
            return ["a body was sent to an operation that takes none"] if request.body else []
        if not request.body:
            return ["the required body is missing"] if body.get("required") else []
        content = body.get("content", {})
        if media not in content:
            return [f"the body's media type {media!r} is not one of {sorted(content)}"]
        return self._body_errors(request, media, f"{body_pointer}/content/{_escape(media)}/schema")

    def _body_errors(self, request: RecordedRequest, media: str, pointer: str) -> list[str]:
        schema = self._schema_at(pointer)
        if media == "application/x-www-form-urlencoded":
            value = self._coerce(_decoded(request.form()), schema)
        elif media.endswith("json"):
            try:
                value = request.json()
            except ValueError as exc:
                return [f"the body is not JSON: {exc}"]
        else:
            return [f"cannot check a {media!r} body"]
        return self._errors(value, pointer, "body")

    def _form_params_violations(
        self, request: RecordedRequest, params: list[tuple[str, dict[str, Any]]]
    ) -> list[str]:
        schema: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for _, param in params:
            prop = {k: v for k, v in param.items() if k not in ("name", "in", "required")}
            schema["properties"][param["name"]] = prop
            if param.get("required"):
                schema["required"].append(param["name"])
        schema["additionalProperties"] = False
        value = self._coerce(_decoded(request.form()), schema)
        validator = self._validator_class(schema, registry=self._registry)
        return [_describe("form", e) for e in validator.iter_errors(value)]

    def _errors(self, value: Any, pointer: str, what: str) -> list[str]:
        validator = self._validator_class({"$ref": f"{_URI}#{pointer}"}, registry=self._registry)
        return [_describe(what, e) for e in validator.iter_errors(value)]

    def _schema_at(self, pointer: str) -> Any:
        return self._deref(pointer, self._at(pointer))[1]

    # --- reading form and query strings as the schema types them -------------------------

    def _coerce(self, value: Any, schema: Any) -> Any:
        schema = self._deref("", schema)[1] if isinstance(schema, dict) else schema
        if not isinstance(schema, dict):
            return value
        branches = [
            self._deref("", b)[1]
            for key in ("anyOf", "oneOf", "allOf")
            for b in schema.get(key, [])
        ]
        types = _types(schema) | {t for b in branches for t in _types(b)}
        if isinstance(value, dict):
            props: dict[str, Any] = {}
            extra: Any = None
            for s in [schema, *branches]:
                if isinstance(s, dict):
                    props.update(s.get("properties", {}))
                    if isinstance(s.get("additionalProperties"), dict):
                        extra = s["additionalProperties"]
            if not props and extra is None and "array" in types:
                ordered = [value[k] for k in sorted(value, key=_index_key)]
                return self._coerce(ordered, schema)
            return {
                k: self._coerce(v, props.get(k, extra)) if (k in props or extra) else v
                for k, v in value.items()
            }
        if isinstance(value, list):
            if "array" not in types and len(value) == 1:
                return self._coerce(value[0], schema)
            items = schema.get("items") or next(
                (b.get("items") for b in branches if isinstance(b, dict) and b.get("items")),
                None,
            )
            return [self._coerce(v, items) for v in value]
        if isinstance(value, str):
            if "array" in types and not types & {"string"}:
                return [self._coerce(value, schema.get("items"))]
            if "integer" in types and re.fullmatch(r"-?[0-9]+", value):
                return int(value)
            if "number" in types and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", value):
                return float(value)
            if "boolean" in types and value in ("true", "false"):
                return value == "true"
        return value


@functools.cache
def _load(spec: str) -> VendorSchema:
    path = spec_file(spec)
    text = path.read_text(encoding="utf-8")
    document = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_SAFE)  # noqa: S506 - a safe loader
    return VendorSchema(document)


# The C loader reads Stripe's 1.4 MB description in a fraction of the pure-Python time.
_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _prepared(original: dict[str, Any]) -> dict[str, Any]:
    """The description with unknown properties refused and ``nullable`` as a null type."""
    document: dict[str, Any] = copy.deepcopy(original)
    in_all_of: set[str] = set()
    _collect_all_of_refs(document, in_all_of)
    is_31 = str(document.get("openapi", "")).startswith("3.1")
    _tighten(document, in_all_of, is_31, path="", parent_key="")
    return document


def _collect_all_of_refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for branch in node.get("allOf", []) if isinstance(node.get("allOf"), list) else []:
            if isinstance(branch, dict) and "$ref" in branch:
                found.add(branch["$ref"].lstrip("#"))
        for value in node.values():
            _collect_all_of_refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _collect_all_of_refs(value, found)


def _tighten(node: Any, in_all_of: set[str], is_31: bool, path: str, parent_key: str) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("allOf"), list):
            _close_all_of(node, in_all_of)
        looks_like_schema = "properties" in node and isinstance(node["properties"], dict)
        if (
            looks_like_schema
            and "additionalProperties" not in node
            and "unevaluatedProperties" not in node
            and path not in in_all_of
            and parent_key not in ("allOf", "properties")
        ):
            node["additionalProperties"] = False
        if path in in_all_of and node.get("additionalProperties") is False:
            del node["additionalProperties"]  # the combining schema closes it
        if not is_31:
            _as_2020_12(node)
        for key, value in node.items():
            child = f"{path}/{_escape(str(key))}"
            _tighten(value, in_all_of, is_31, child, key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            key = parent_key if parent_key == "allOf" else ""
            _tighten(value, in_all_of, is_31, f"{path}/{index}", key)


def _close_all_of(node: dict[str, Any], in_all_of: set[str]) -> None:
    """``allOf`` branches that each refuse the others' properties (a common defect of
    published descriptions) become one closed object: the combination refuses what no branch
    declares (``unevaluatedProperties``), the branches refuse nothing themselves."""
    opened = False
    for branch in node["allOf"]:
        if not isinstance(branch, dict):
            continue
        if branch.get("additionalProperties") is False:
            del branch["additionalProperties"]
        elif branch.get("additionalProperties") not in (None, False):
            opened = True
    if not opened and "additionalProperties" not in node:
        node.setdefault("unevaluatedProperties", False)


def _as_2020_12(node: dict[str, Any]) -> None:
    """OpenAPI 3.0 and Swagger 2.0 schema keywords as JSON Schema 2020-12 reads them."""
    if node.get("nullable") is True and "type" in node:
        types = node["type"] if isinstance(node["type"], list) else [node["type"]]
        node["type"] = [*types, "null"]
        if "enum" in node and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(node.get(exclusive), bool) and node.pop(exclusive) and bound in node:
            node[exclusive] = node.pop(bound)


def _types(schema: Any) -> set[str]:
    if not isinstance(schema, dict):
        return set()
    kind = schema.get("type")
    if isinstance(kind, list):
        return set(kind)
    return {kind} if isinstance(kind, str) else set()


def _decoded(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Form or query pairs as nested values: ``a[b][0]=v`` -> ``{"a": {"b": {"0": "v"}}}``
    (numbered keys become lists once the schema asks for an array); ``a[]=v`` and repeated
    keys become lists."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        parts = _key_parts(key)
        node = result
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        last = parts[-1]
        if last == "":  # a[]=v
            node.setdefault("", []).append(value)
        elif last in node:
            existing = node[last]
            node[last] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            node[last] = value
    collapsed: dict[str, Any] = _collapse_appends(result)
    return collapsed


def _collapse_appends(node: Any) -> Any:
    if isinstance(node, dict):
        if set(node) == {""}:
            return [_collapse_appends(v) for v in node[""]]
        return {k: _collapse_appends(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_collapse_appends(v) for v in node]
    return node


def _key_parts(key: str) -> list[str]:
    match = re.fullmatch(r"([^\[\]]+)((?:\[[^\[\]]*\])*)", key)
    if not match:
        return [key]
    return [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]


def _index_key(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (1 << 30, key)


def _template_regex(template: str) -> str:
    out, last = [], 0
    for match in re.finditer(r"\{([^}]+)\}", template):
        out.append(re.escape(template[last : match.start()]))
        out.append(f"(?P<{_group(match.group(1))}>[^/]+)")
        last = match.end()
    out.append(re.escape(template[last:]))
    return "".join(out)


def _group(name: str) -> str:
    return "p_" + re.sub(r"[^0-9A-Za-z_]", "_", name)


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _base_paths(document: dict[str, Any]) -> list[str]:
    prefixes = [str(document.get("basePath", "")).rstrip("/")]
    for server in document.get("servers", []) or []:
        url = str(server.get("url", ""))
        path = re.sub(r"^[a-z]+://[^/]*", "", url).rstrip("/")
        prefixes.append(quote(path))
    return [p for p in prefixes if p]


def _describe(what: str, error: jsonschema.ValidationError) -> str:
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{what}{' at ' + where if where else ''}: {error.message[:300]}"
