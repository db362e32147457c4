"""Structured output: the JSON a chat answer must be, and checking the answer against it (no gradio here).

A schema is checked before anything is sent (`parse_schema` raises an InputError saying what is
wrong); the answer is parsed and validated by a small validator covering what a schema for a model
answer uses: `type`, `properties`, `required`, `additionalProperties`, `items`, `enum`, `const` and
`anyOf`. Other keywords (`$ref`, `pattern`, bounds...) are accepted and not checked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from providers import InputError, Provider
from providers.base import ResponseFormat

#: Structured output modes, as the API names them (the UI shows "Off", "JSON", "JSON schema").
MODES = ("off", "json", "json_schema")
#: Bounds on a schema: its text and how deeply it nests.
MAX_SCHEMA_CHARS = 20_000
MAX_SCHEMA_DEPTH = 32

_TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")
_FENCED = re.compile(r"^```[a-zA-Z]*\s*\n(.*)\n\s*```$", re.S)


def response_format(mode: str | None, schema: Any = None) -> ResponseFormat | None:
    """The response format for a mode ("off", "json" or "json_schema") and its schema. Raises InputError."""
    mode = (mode or "off").strip().lower().replace(" ", "_")
    if mode not in MODES:
        raise InputError(f"Structured output must be one of {', '.join(MODES)}, not {str(mode)[:40]!r}.")
    if mode == "off":
        return None
    if mode == "json":
        return ResponseFormat()
    return ResponseFormat(schema=parse_schema(schema))


def check_offered(provider: Provider, fmt: ResponseFormat | None) -> None:
    """Raise InputError when structured output is asked of a provider that does not offer it."""
    if fmt is not None and not provider.supports_structured_output:
        raise InputError(f"{provider.label} does not offer structured output (JSON): turn it off or pick a "
                         "provider that offers it.")


def parse_schema(schema: Any) -> dict[str, Any]:
    """A JSON schema (text or an already parsed object) checked to describe a JSON object. Raises InputError."""
    if isinstance(schema, str):
        text = schema.strip()
        if not text:
            raise InputError("Add a JSON schema (or choose plain JSON mode).")
        if len(text) > MAX_SCHEMA_CHARS:
            raise InputError(f"The JSON schema is {len(text):,} characters; the limit is {MAX_SCHEMA_CHARS:,}.")
        try:
            schema = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"The JSON schema is not valid JSON: {exc.msg} "
                             f"(line {exc.lineno}, column {exc.colno}).") from exc
        except RecursionError as exc:
            raise InputError("The JSON schema nests too deeply.") from exc
    if schema is None:
        raise InputError("Add a JSON schema (or choose plain JSON mode).")
    if not isinstance(schema, dict):
        raise InputError('The JSON schema must be a JSON object, such as {"type": "object", "properties": {...}}.')
    if schema.get("type") != "object":
        raise InputError('The JSON schema must describe an object: its "type" must be "object".')
    _check_schema(schema, "$", 0)
    return schema


def _check_schema(schema: Any, path: str, depth: int) -> None:
    """Raise InputError for what a validator (and a provider) would misread: wrong shapes of the keywords."""
    if depth > MAX_SCHEMA_DEPTH:
        raise InputError(f"The JSON schema nests more than {MAX_SCHEMA_DEPTH} levels deep.")
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        raise InputError(f"The JSON schema at {path} must be an object, not {_type_name(schema)}.")
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind is not None else []
    for name in kinds:
        if name not in _TYPES:
            raise InputError(f"The JSON schema at {path} has an unknown type {str(name)[:40]!r}: "
                             f"use one of {', '.join(_TYPES)}.")
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        raise InputError(f'The JSON schema at {path}: "properties" must be an object.')
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(n, str) for n in required):
        raise InputError(f'The JSON schema at {path}: "required" must be a list of property names.')
    if "enum" in schema and not isinstance(schema["enum"], list):
        raise InputError(f'The JSON schema at {path}: "enum" must be a list.')
    for name, sub in properties.items():
        _check_schema(sub, f"{path}.{name}", depth + 1)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            _check_schema(schema[key], f"{path}.{key}", depth + 1)
    branches = schema.get("anyOf", [])
    if not isinstance(branches, list):
        raise InputError(f'The JSON schema at {path}: "anyOf" must be a list.')
    for i, sub in enumerate(branches):
        _check_schema(sub, f"{path}.anyOf[{i}]", depth + 1)


@dataclass(frozen=True)
class CheckedAnswer:
    """An answer read as JSON: its value, and why it is not valid JSON or does not match the schema."""

    value: Any = None
    #: False when the answer is not JSON at all (`problems` then says why).
    parsed: bool = False
    problems: tuple[str, ...] = ()
    #: True when a schema was checked (plain JSON mode has none).
    schema: bool = False

    @property
    def matches(self) -> bool:
        return self.parsed and not self.problems

    def pretty(self) -> str:
        """The value as formatted JSON (two-space indent, characters kept as they are)."""
        return json.dumps(self.value, indent=2, ensure_ascii=False)

    def verdict(self) -> str:
        """One line for the visitor: "Matches the JSON schema", "Not valid JSON: ...", ..."""
        if not self.parsed:
            return f"Not valid JSON: {self.problems[0]}"
        if self.problems:
            shown = "; ".join(self.problems[:5]) + (f"; and {len(self.problems) - 5} more" if len(self.problems) > 5
                                                   else "")
            return f"Does not match the JSON schema: {shown}"
        return "Matches the JSON schema" if self.schema else "Valid JSON"


def check_answer(text: str, fmt: ResponseFormat) -> CheckedAnswer:
    """Parse an answer as JSON (a ```json fence around it is allowed) and validate it against `fmt`'s schema."""
    body = text.strip()
    fenced = _FENCED.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        return CheckedAnswer(problems=(f"{exc.msg} (line {exc.lineno}, column {exc.colno})",),
                             schema=fmt.schema is not None)
    except RecursionError:
        return CheckedAnswer(problems=("it nests too deeply to read",), schema=fmt.schema is not None)
    if fmt.schema is None:
        return CheckedAnswer(value=value, parsed=True)
    return CheckedAnswer(value=value, parsed=True, problems=tuple(schema_errors(value, fmt.schema)), schema=True)


def schema_errors(value: Any, schema: Any, path: str = "$") -> list[str]:
    """What in `value` does not match `schema` (empty when it matches), each naming where ($.a[0].b)."""
    if schema is False:
        return [f"{path}: no value is allowed here"]
    if not isinstance(schema, dict):
        return []
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_is_type(value, k) for k in kinds):
            return [f"{path}: expected {' or '.join(map(str, kinds))}, got {_type_name(value)}"]
    errors: list[str] = []
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        options = ", ".join(json.dumps(o, ensure_ascii=False) for o in schema["enum"][:8])
        errors.append(f"{path}: must be one of {options}")
    if "const" in schema and not _same(value, schema["const"]):
        errors.append(f"{path}: must be {json.dumps(schema['const'], ensure_ascii=False)}")
    branches = schema.get("anyOf")
    if isinstance(branches, list) and branches and all(schema_errors(value, b, path) for b in branches):
        errors.append(f"{path}: matches none of the allowed shapes (anyOf)")
    if isinstance(value, dict):
        errors += _object_errors(value, schema, path)
    if isinstance(value, list) and isinstance(schema.get("items"), (dict, bool)):
        for i, item in enumerate(value):
            errors += schema_errors(item, schema["items"], f"{path}[{i}]")
    return errors


def _object_errors(value: dict, schema: dict, path: str) -> list[str]:
    properties = schema.get("properties") or {}
    errors = [f"{path}: missing required property {name!r}" for name in schema.get("required") or []
              if name not in value]
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        where = f"{path}.{name}"
        if name in properties:
            errors += schema_errors(item, properties[name], where)
        elif extra is False:
            errors.append(f"{path}: property {name!r} is not allowed")
        elif isinstance(extra, dict):
            errors += schema_errors(item, extra, where)
    return errors


def _is_type(value: Any, kind: str) -> bool:
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return _type_name(value) == kind


def _type_name(value: Any) -> str:
    """The JSON type of a Python value ("integer" for whole numbers)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, and 1 equals 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b
