"""What ``jht-bridge check`` knows of a WSDL's types, to name a mapping's mistakes before the
first message meets them (issue #19 point 6):

- ``request_problems``: every key of a request template is an element of the parameter's type
  (``SalesOrder.External_Doc_No`` of a ``SalesOrder`` without one is named, with the elements
  it has), down through ``$each`` lists and nested tables;
- ``path_problems``: every field a response template (or a step's ``steps[i]…`` reference)
  reads is in the answer's type, as zeep hands the answer over (``answer_shape``: the response
  element unwrapped, and unwrapped once more when it holds a single element);
- ``value_problems``: the answer keys read as one value (``ok``, ``erp_ref``, ``erp_code``) do
  not reach a whole record or a list.

Only what the templates say literally is checked: a field reached through a JMESPath function's
result, a filter or a pipe is taken on trust.
"""

from __future__ import annotations

from typing import Any

import jmespath


class Shape:
    """A value of a WSDL type: ``many`` (a list of it), its zeep type (None: unknown or simple)."""

    def __init__(self, xsd_type: Any = None, many: bool = False, name: str = ""):
        self.xsd_type, self.many, self.name = xsd_type, many, name

    def item(self) -> "Shape":
        return Shape(self.xsd_type, False, self.name)

    def elements(self) -> dict[str, Any] | None:
        """{name: zeep element} of a complex type; None when not known (simple, any)."""
        elements = getattr(self.xsd_type, "elements", None)
        if self.xsd_type is None or elements is None:
            return None
        return {name: element for name, element in elements}

    def type_name(self) -> str:
        return getattr(getattr(self.xsd_type, "qname", None), "localname", None) or self.name or "the answer"


ANY = Shape()
"""Nothing known: not checked."""


def element_shape(element: Any) -> Shape:
    many = element.max_occurs == "unbounded" or (isinstance(element.max_occurs, int) and element.max_occurs > 1)
    xsd_type = element.type if getattr(element.type, "elements", None) is not None else None
    return Shape(xsd_type, many, element.name)


def answer_shape(operation: Any) -> Shape:
    """The shape of ``operation``'s answer as zeep returns it (``SoapMessage.deserialize``):
    the response's single element unwrapped, and that one's single child element too."""
    body = getattr(operation.output, "body", None)
    wrapper = getattr(body, "type", None)
    elements = list(getattr(wrapper, "elements", None) or [])
    if wrapper is None:
        return ANY
    if len(elements) != 1:
        return Shape(wrapper, False, getattr(body, "name", ""))
    _, element = elements[0]
    shape = element_shape(element)
    inner = shape.elements()
    if not shape.many and inner is not None and len(inner) == 1 and not getattr(shape.xsd_type, "attributes", []):
        return element_shape(next(iter(inner.values())))
    return shape


def request_problems(template: Any, operation: Any, where: str) -> list[str]:
    """The keys of a request template that are not elements of the operation's parameters."""
    body = getattr(operation.input, "body", None)
    problems: list[str] = []
    if body is not None and getattr(body.type, "elements", None) is not None:
        _fits(template, Shape(body.type, False, operation.name), where, problems, top=True)
    return problems


def _fits(template: Any, shape: Shape, where: str, problems: list[str], top: bool = False) -> None:
    if isinstance(template, list):
        for n, item in enumerate(template):
            _fits(item, shape.item() if shape.many else shape, f"{where}[{n}]", problems)
        return
    if not isinstance(template, dict):
        return
    if "$each" in template:
        _fits(template.get("$item", "@"), shape.item(), f"{where}[]", problems)
        return
    if any(key.startswith("$") for key in template):
        return  # $dict / $value: a value, not checked here
    elements = shape.elements()
    if elements is None:
        return
    for key, sub in template.items():
        if key not in elements:
            what = "a parameter of" if top else "an element of"
            problems.append(
                f"{where}.{key}: not {what} {shape.type_name() if not top else shape.name} "
                f"(it has: {', '.join(elements) or 'none'})"
            )
            continue
        _fits(sub, element_shape(elements[key]), f"{where}.{key}", problems)


class StepsRoot(Shape):
    """What a steps table's templates are rendered on: the document (not checked) and
    ``steps``, the answers of the steps (``shapes``, in order)."""

    def __init__(self, shapes: list[Shape]):
        super().__init__()
        self.shapes = shapes


def path_problems(template: Any, root: Shape, where: str) -> list[str]:
    """The fields a template reads that its data's shape does not have."""
    problems: list[str] = []
    _template_paths(template, root, where, problems)
    return problems


VALUE_KEYS = ("ok", "erp_ref", "erp_code")
"""Answer keys the connector reads as one value: true or false, a number or a text."""


def value_problems(response: Any, root: Shape, where: str) -> list[str]:
    """The ``VALUE_KEYS`` of a response template whose path reaches a list or a record (a
    complex type) of the answer; what a function, a comparison or an alternative gives is taken
    on trust."""
    problems: list[str] = []
    if not isinstance(response, dict):
        return problems
    for key in VALUE_KEYS:
        expression = response.get(key)
        if not isinstance(expression, str):
            continue
        shape = _expression_shape(expression, root, f"{where}.{key}", [])
        if shape is ANY or isinstance(shape, (StepsRoot, _StepsList)):
            continue
        if shape.many:
            problems.append(
                f"{where}.{key}: {expression} is a list of {shape.type_name()}, not one value (index it: [0], "
                "and read a field)"
            )
        elif shape.xsd_type is not None:
            fields = ", ".join(shape.elements() or {})
            problems.append(
                f"{where}.{key}: {expression} is a whole {shape.type_name()} ({fields}), not one value: read one "
                "of its fields"
            )
    return problems


def _template_paths(template: Any, shape: Shape, where: str, problems: list[str]) -> None:
    if isinstance(template, str):
        try:
            parsed = jmespath.compile(template).parsed
        except Exception:  # noqa: BLE001 - named by the mapping's own validation
            return
        _walk(parsed, shape, f"{where}: {template}", problems)
    elif isinstance(template, list):
        for n, item in enumerate(template):
            _template_paths(item, shape, f"{where}[{n}]", problems)
    elif isinstance(template, dict):
        if "$each" in template or "$dict" in template:
            key = "$each" if "$each" in template else "$dict"
            items = _expression_shape(template[key], shape, f"{where}.{key}", problems)
            inner = items.item() if items.many else ANY
            for sub in ("$item", "$key", "$value"):
                if sub in template:
                    _template_paths(template[sub], inner, f"{where}.{sub}", problems)
            return
        for key, sub in template.items():
            if key in ("$map", "$default"):
                continue
            _template_paths(sub, shape, f"{where}.{key}", problems)


def _expression_shape(expression: Any, shape: Shape, where: str, problems: list[str]) -> Shape:
    if not isinstance(expression, str):
        return ANY
    try:
        parsed = jmespath.compile(expression).parsed
    except Exception:  # noqa: BLE001
        return ANY
    return _walk(parsed, shape, f"{where}: {expression}", problems)


def _walk(node: dict[str, Any], shape: Shape, where: str, problems: list[str]) -> Shape:
    kind, children = node.get("type"), node.get("children") or []
    if kind == "current":
        return shape
    if kind == "field":
        return _field(shape, node["value"], where, problems)
    if kind == "subexpression":
        for child in children:
            shape = _walk(child, shape, where, problems)
        return shape
    if kind == "index_expression":
        shape = _walk(children[0], shape, where, problems)
        for index in children[1:]:
            shape = _index(shape, index.get("value"), where, problems)
        return shape
    if kind == "index":
        return _index(shape, node.get("value"), where, problems)
    if kind in ("projection", "filter_projection"):
        left = _walk(children[0], shape, where, problems)
        item = left.item() if left.many else ANY
        for child in children[1:]:
            _walk(child, item, where, problems)
        return ANY
    if kind in ("or_expression", "and_expression", "not_expression", "comparator", "function_expression"):
        for child in children:
            _walk(child, shape, where, problems)
        return ANY
    if kind in ("multi_select_list", "multi_select_dict", "key_val_pair"):
        for child in children:
            _walk(child, shape, where, problems)
        return ANY
    if kind == "pipe":
        _walk(children[0], shape, where, problems)
        return ANY
    return ANY


BARE_LITERALS = ("null", "true", "false")
"""Written bare they are fields in JMESPath (always absent: null); integrators mean the literal."""


def _field(shape: Shape, name: str, where: str, problems: list[str]) -> Shape:
    if name in BARE_LITERALS:
        return ANY
    if isinstance(shape, StepsRoot):
        return _StepsList(shape.shapes) if name == "steps" else ANY
    if shape is ANY or isinstance(shape, _StepsList):
        return ANY
    if shape.many:
        problems.append(f"{where}: {name}: the answer there is a list of {shape.type_name()} (index it: [0])")
        return ANY
    elements = shape.elements()
    if elements is None:
        return ANY
    if name not in elements:
        problems.append(f"{where}: {name} is not in {shape.type_name()} (it has: {', '.join(elements) or 'none'})")
        return ANY
    return element_shape(elements[name])


class _StepsList(Shape):
    def __init__(self, shapes: list[Shape]):
        super().__init__(None, True)
        self.shapes = shapes


def _index(shape: Shape, index: Any, where: str, problems: list[str]) -> Shape:
    if isinstance(shape, _StepsList):
        if not isinstance(index, int) or not -len(shape.shapes) <= index < len(shape.shapes):
            problems.append(f"{where}: steps[{index}]: there are {len(shape.shapes)} step(s) before it")
            return ANY
        return shape.shapes[index]
    if shape is ANY or not shape.many:
        return ANY
    return shape.item()
