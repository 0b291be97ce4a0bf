"""Field mapping between the bridge's documents and a SOAP service's messages, as data.

A mapping file (TOML) has one table per contract operation (``push_customer``, ``push_order``,
``order_command``, ``push_merge``, ``query_stock``, ``pull_events``)::

    [push_order]
    operation = "CreateSalesOrder"          # the WSDL operation to call
    [push_order.request.bill]               # its parameters, built from the document
    BillNo = "order_no"
    CustNo = "to_string(customer.id)"
    Entries = { SalesEntry = { "$each" = "lines", "$item" = { MaterialNo = "sku", Qty = "quantity" } } }
    [push_order.response]                   # what we read back from its answer
    erp_ref = "BillId"

An operation may name the service it is on (``service = "customer"``: a table of
``[connector.soap.services]``; default: the one of ``connector.soap.wsdl``), and may be a short
sequence of **steps** instead of one call (an ERP whose Update needs the Key a Read returns)::

    [order_command]
    steps = [
      { service = "sales_order", operation = "Read", request = { No = "order_no" } },
      { service = "sales_order", operation = "Update", when = "steps[0]",
        request = { SalesOrder = { Key = "steps[0].Key", Status = "'Released'" } } },
    ]
    response = { ok = "steps[1] != null" }

Each step's request (and ``when``, which skips the step when it renders false or null) is
rendered on the document with ``steps``: the answers of the steps before it (null for a step
skipped, or answered "already exists"); with steps, ``response`` is rendered on the same, after
the last step (with ``operation``, on the one answer). ``already_exists`` says what a fault meaning
"already there" (``connector.soap.already_exists``) is for a step: ``true`` delivered (the
step's answer is null and the next steps run), ``"retry"`` try the whole message again later,
``false`` a fault like any other. Default: ``true`` for a table with ``operation``, as before
steps existed; ``false`` for a step, so only a step the mapping marks may count as delivered.

A **template** is built by ``render(template, data)``:

- a string is a JMESPath expression evaluated on the data (``order_no``, ``customer.erp_code``,
  ``to_string(customer.id)``); a literal text is a JMESPath raw string: ``"'AUDIT'"``;
- a number or boolean is itself;
- ``{"$each": expr, "$item": template}`` is a list: the template rendered on each element of the
  list ``expr`` finds (inside, ``_parent`` is the data around the list); no list there: null;
- ``{"$dict": expr, "$key": expr, "$value": expr}`` is an object built from the list ``expr`` finds;
- ``{"$value": expr, "$map": {from: to, …}, "$default": …}`` translates a value (a missing
  ``$default`` makes an unknown value an error; null stays null);
- any other table is an object of the rendered values; keys whose value renders to null are left out.

Besides JMESPath's own functions, templates have the few an ERP's types ask for
(``FUNCTIONS``): ``date(time[, zone])`` the date of an ISO time (for an ``xs:date``),
``decimal(number, places)`` exact decimal text rounded half up, ``cut(text, length)`` the first
characters of a text (an ERP field's length), ``list(a, b, …)`` a list of its arguments.

JMESPath (https://jmespath.org) is used rather than a home-made path syntax: it is specified,
tested in many languages, and integrators may already know it from other tools.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

import jmespath
from jmespath import functions as jp_functions
from jmespath.exceptions import JMESPathError

OPERATIONS = ("push_customer", "push_order", "order_command", "push_merge", "query_stock", "pull_events")
REQUIRED_OPERATIONS = ("push_customer", "push_order", "order_command", "query_stock", "pull_events")
DIRECTIVES = {"$each", "$item", "$dict", "$key", "$value", "$map", "$default"}
TABLE_KEYS = {"operation", "service", "request", "response", "steps", "already_exists"}
STEP_KEYS = {"operation", "service", "request", "when", "already_exists"}
MAX_STEPS = 8
ALREADY_EXISTS_CHOICES = (True, False, "retry")

# What each operation's response template may set (and what the connector reads from it).
RESPONSE_KEYS = {
    "push_customer": {"erp_code", "ok", "message"},
    "push_order": {"erp_ref", "ok", "message"},
    "order_command": {"ok", "message"},
    "push_merge": {"ok", "message"},
    "query_stock": {"stock", "ok", "message"},
    "pull_events": {"events", "ok", "message"},
}
EVENT_KEYS = {"id", "kind", "data", "cursor"}


class MappingError(ValueError):
    """The mapping file is wrong (at load) or a template cannot be applied to the data."""


class _Functions(jp_functions.Functions):
    """The functions templates have besides JMESPath's own (see the module's docstring)."""

    def _validate_arguments(self, args, signature, function_name):
        # An argument marked "optional" (the last one) may be left out: jmespath has no such notion.
        if signature and signature[-1].get("optional") and len(args) == len(signature) - 1:
            signature = signature[:-1]
        return super()._validate_arguments(args, signature, function_name)

    @jp_functions.signature({"types": ["string", "null"]}, {"types": ["string"], "optional": True})
    def _func_date(self, value, zone=None):
        return _date_of(value, zone)

    @jp_functions.signature({"types": ["string", "number", "null"]}, {"types": ["number"]})
    def _func_decimal(self, value, places):
        return _decimal_text(value, places)

    @jp_functions.signature({"types": ["string", "null"]}, {"types": ["number"]})
    def _func_cut(self, value, length):
        if value is None:
            return None
        if length < 0 or length != int(length):
            raise MappingError(f"cut: the length must be a whole number ≥ 0, not {length!r}")
        return value[: int(length)]

    @jp_functions.signature({"types": [], "variadic": True, "optional": True})
    def _func_list(self, *items):
        return list(items)


def _date_of(value: str | None, zone: str | None) -> str | None:
    """The date (``YYYY-MM-DD``) of an ISO time or date, in ``zone`` (an IANA name) when given,
    else in the time's own offset."""
    from datetime import date, datetime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise MappingError(f"date: {value!r} is not an ISO time or date") from None
    if zone:
        try:
            tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise MappingError(f"date: unknown time zone {zone!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
        moment = moment.astimezone(tz)
    return moment.date().isoformat()


def _decimal_text(value: Any, places: Any) -> str | None:
    """``value`` (a number or decimal text) rounded half up to ``places`` decimals, as exact text."""
    from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

    if value is None or value == "":
        return None
    if places < 0 or places != int(places) or places > 28:
        raise MappingError(f"decimal: places must be a whole number from 0 to 28, not {places!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise MappingError(f"decimal: {value!r} is not a number") from None
    if not number.is_finite():
        raise MappingError(f"decimal: {value!r} is not a number")
    return format(number.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP), "f")


FUNCTIONS = ("date", "decimal", "cut", "list")
"""The functions templates have besides JMESPath's own."""
_OPTIONS = jmespath.Options(custom_functions=_Functions())


@lru_cache(maxsize=1024)
def _compiled(expression: str):
    try:
        return jmespath.compile(expression)
    except JMESPathError as exc:
        raise MappingError(f"bad JMESPath expression {expression!r}: {exc}") from None


def render(template: Any, data: Any) -> Any:
    if isinstance(template, str):
        try:
            return _compiled(template).search(data, options=_OPTIONS)
        except JMESPathError as exc:
            raise MappingError(f"{template!r}: {exc}") from None
    if isinstance(template, list):
        return [render(item, data) for item in template]
    if not isinstance(template, dict):
        return template
    if "$each" in template:
        items = render(template["$each"], data)
        if items is None:
            return None  # a missing list stays missing (an empty one stays empty)
        if not isinstance(items, list):
            items = [items]
        inner = template.get("$item", "@")
        return [render(inner, _with_parent(item, data)) for item in items]
    if "$dict" in template:
        items = render(template["$dict"], data)
        if items is None:
            return None
        if not isinstance(items, list):
            items = [items]
        out = {}
        for item in items:
            scope = _with_parent(item, data)
            out[render(template["$key"], scope)] = render(template["$value"], scope)
        return out
    if "$value" in template:
        value = render(template["$value"], data)
        table = template.get("$map")
        if table is None or value is None:
            return value  # nothing there is not translated: the key is left out
        key = _map_key(value)
        if key in table:
            return table[key]
        if "$default" in template:
            return template["$default"]
        raise MappingError(f"no mapping for value {value!r} (known: {', '.join(map(str, table))})")
    out = {}
    for key, sub in template.items():
        value = render(sub, data)
        if value is not None:
            out[key] = value
    return out


def _with_parent(item: Any, parent: Any) -> Any:
    return {**item, "_parent": parent} if isinstance(item, dict) else item


def _map_key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _check_template(template: Any, where: str, problems: list[str]) -> None:
    if isinstance(template, str):
        try:
            _compiled(template)
        except MappingError as exc:
            problems.append(f"{where}: {exc}")
    elif isinstance(template, list):
        for n, item in enumerate(template):
            _check_template(item, f"{where}[{n}]", problems)
    elif isinstance(template, dict):
        directives = {k for k in template if k.startswith("$")}
        unknown = directives - DIRECTIVES
        if unknown:
            problems.append(f"{where}: unknown directive(s) {', '.join(sorted(unknown))}")
        if "$each" in template and not directives <= {"$each", "$item"}:
            problems.append(f"{where}: $each takes only $item")
        if "$dict" in template and not {"$key", "$value"} <= directives:
            problems.append(f"{where}: $dict needs $key and $value")
        if "$map" in template and "$value" not in template:
            problems.append(f"{where}: $map needs $value")
        if "$map" in template and not isinstance(template["$map"], dict):
            problems.append(f"{where}.$map must be a table")
        for key, sub in template.items():
            if key in ("$map", "$default"):
                continue
            _check_template(sub, f"{where}.{key}", problems)


def _check_step(step: Any, where: str, problems: list[str]) -> None:
    if not isinstance(step, dict):
        problems.append(f"{where}: must be a table")
        return
    if where.endswith("]"):
        extra = set(step) - STEP_KEYS
        if extra:
            problems.append(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
    if not isinstance(step.get("operation"), str) or not step.get("operation"):
        problems.append(f"{where}.operation: the WSDL operation's name is required")
    if "service" in step and (not isinstance(step["service"], str) or not step["service"]):
        problems.append(f"{where}.service: the name of a [connector.soap.services] table")
    if "already_exists" in step and step["already_exists"] not in ALREADY_EXISTS_CHOICES:
        problems.append(f'{where}.already_exists: true, false or "retry"')
    elif step.get("already_exists") is True and is_update(step.get("operation")):
        problems.append(
            f"{where}.already_exists: an update answered 'already exists' has not updated anything; "
            'it cannot count as delivered (false or "retry")'
        )
    if "when" in step:
        if not isinstance(step["when"], str):
            problems.append(f"{where}.when: a JMESPath expression")
        else:
            _check_template(step["when"], f"{where}.when", problems)
    request = step.get("request", {})
    if not isinstance(request, dict):
        problems.append(f"{where}.request: must be a table of the operation's parameters")
    else:
        _check_template(request, f"{where}.request", problems)


def is_update(operation: Any) -> bool:
    """An operation that changes a record the ERP has (its name says Update): its "already
    exists" is never a delivery."""
    return isinstance(operation, str) and "update" in operation.lower()


def steps_of(table: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps of a (validated) operation table: its ``steps``, or the one call of a table
    with ``operation`` (``already_exists`` true unless it says otherwise, or the operation is
    an update)."""
    if "steps" in table:
        return [{"already_exists": False, **step} for step in table["steps"]]
    step = {k: v for k, v in table.items() if k in STEP_KEYS}
    return [{"already_exists": not is_update(step.get("operation")), **step}]


def services_of(mapping: dict[str, Any]) -> set[str]:
    """The service names a mapping's steps name ("" for the default one)."""
    return {step.get("service", "") for table in mapping.values() for step in steps_of(table)}


def validate(mapping: dict[str, Any]) -> list[str]:
    """Problems of a mapping, each naming its key (empty: fine)."""
    problems = []
    for name in mapping:
        if name not in OPERATIONS:
            problems.append(f"{name}: not a connector operation (one of {', '.join(OPERATIONS)})")
    for name in REQUIRED_OPERATIONS:
        if name not in mapping:
            problems.append(f"{name}: missing (every mapping needs {', '.join(REQUIRED_OPERATIONS)})")
    for name, table in mapping.items():
        if name not in OPERATIONS:
            continue
        if not isinstance(table, dict):
            problems.append(f"{name}: must be a table")
            continue
        extra = set(table) - TABLE_KEYS
        if extra:
            problems.append(f"{name}: unknown key(s) {', '.join(sorted(extra))}")
        if "steps" in table:
            both = sorted(set(table) & {"operation", "service", "request", "already_exists"})
            if both:
                problems.append(f"{name}: steps, or {', '.join(both)}: not both (each step has its own)")
            steps = table["steps"]
            if not isinstance(steps, list) or not steps or len(steps) > MAX_STEPS:
                problems.append(f"{name}.steps: a list of 1 to {MAX_STEPS} tables")
                steps = []
            for n, step in enumerate(steps):
                _check_step(step, f"{name}.steps[{n}]", problems)
        else:
            _check_step({k: v for k, v in table.items() if k in STEP_KEYS}, name, problems)
        response = table.get("response", {})
        if not isinstance(response, dict):
            problems.append(f"{name}.response: must be a table")
            continue
        unknown = set(response) - RESPONSE_KEYS[name]
        if unknown:
            problems.append(
                f"{name}.response: unknown key(s) {', '.join(sorted(unknown))} "
                f"(allowed: {', '.join(sorted(RESPONSE_KEYS[name]))})"
            )
        _check_template(response, f"{name}.response", problems)
        if name == "pull_events":
            events = response.get("events")
            item = events.get("$item") if isinstance(events, dict) else None
            if not isinstance(item, dict) or not {"id", "kind", "data"} <= set(item):
                problems.append(
                    'pull_events.response.events: must be {"$each" = …, "$item" = {id, kind, data, cursor?}}'
                )
            elif set(item) - EVENT_KEYS:
                problems.append(
                    f"pull_events.response.events.$item: unknown key(s) {', '.join(sorted(set(item) - EVENT_KEYS))}"
                )
        if name == "query_stock" and "stock" not in response:
            problems.append('query_stock.response.stock: required ({"$dict" = …, "$key" = …, "$value" = …})')
    return problems


def load_mapping(path: Path) -> dict[str, Any]:
    """Read and validate a mapping file; MappingError lists every problem with its key."""
    try:
        mapping = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"{path}: cannot read the mapping file ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: not valid TOML ({exc})") from None
    problems = validate(mapping)
    if problems:
        raise MappingError(f"{path}: " + "; ".join(problems))
    return mapping
