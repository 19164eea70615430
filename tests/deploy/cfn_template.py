"""Read CloudFormation YAML templates and resolve their intrinsic functions for one set of parameters.

Enough of CloudFormation to check lava's templates against :mod:`lava_core.backend.aws_schema`
without AWS: the short-form tags (``!Sub``, ``!Ref``, ``!GetAtt``, ``!If``…) are read as their
long forms, conditions are evaluated, resources whose condition is false are dropped, and
references to resources become :class:`Ref` / :class:`Att` markers whose text can be compared
(``str(Att("Queue", "Arn"))``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from attrs import frozen

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"

PSEUDO_PARAMETERS = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "lava-test-stack",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/lava-test-stack/0",
}

# Short tags whose long form is not "Fn::<tag>".
_LONG_NAMES = {"Ref": "Ref", "Condition": "Condition"}


class CfnLoader(yaml.SafeLoader):
    """A safe YAML loader that reads CloudFormation short tags as their long forms (``!Ref X`` → ``{"Ref": "X"}``)."""


def _short_tag(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = _LONG_NAMES.get(suffix, f"Fn::{suffix}")
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":  # !GetAtt Resource.Attribute
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _short_tag)


def load_template(name: str) -> dict[str, Any]:
    """The template ``deploy/NAME`` as plain data (long-form intrinsic functions)."""
    return yaml.load((DEPLOY / name).read_text(), Loader=CfnLoader)  # CfnLoader is a SafeLoader


@frozen
class Ref:
    """``Ref`` of a resource (its physical id, known only once deployed)."""

    resource: str

    def __str__(self) -> str:
        return f"{{Ref {self.resource}}}"


@frozen
class Att:
    """``Fn::GetAtt`` of a resource."""

    resource: str
    attribute: str

    def __str__(self) -> str:
        return f"{{GetAtt {self.resource}.{self.attribute}}}"


_NO_VALUE = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class Rendered:
    """A template with its parameters bound: conditions evaluated, intrinsic functions resolved."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, str | int] | None = None) -> None:
        self.template = template
        self.parameters = self._bind(template.get("Parameters", {}), parameters or {})
        self._conditions: dict[str, bool] = {}
        for name in template.get("Conditions", {}):
            self.condition(name)
        self.resources = {name: self.resolve(resource) for name, resource in template["Resources"].items()
                          if self._wanted(resource)}
        self.outputs = {name: self.resolve(output["Value"]) for name, output in template.get("Outputs", {}).items()
                        if self._wanted(output)}

    @staticmethod
    def _bind(declared: dict[str, Any], given: dict[str, str | int]) -> dict[str, str]:
        """Parameter values as CloudFormation passes them (strings), checked against their constraints."""
        unknown = set(given) - set(declared)
        assert not unknown, f"parameters not declared by the template: {sorted(unknown)}"
        values = {}
        for name, spec in declared.items():
            if name in given:
                value = str(given[name])
            elif "Default" in spec:
                value = str(spec["Default"])
            else:
                raise AssertionError(f"parameter {name} has no default and no value was given")
            if "AllowedValues" in spec:
                assert value in [str(v) for v in spec["AllowedValues"]], f"{name}={value!r} not allowed"
            if "AllowedPattern" in spec:
                assert re.fullmatch(spec["AllowedPattern"], value), f"{name}={value!r} does not match its pattern"
            if "MinLength" in spec:
                assert len(value) >= spec["MinLength"], f"{name}={value!r} too short"
            if "MaxLength" in spec:
                assert len(value) <= spec["MaxLength"], f"{name}={value!r} too long"
            if spec["Type"] == "Number":
                number = float(value)
                assert number >= spec.get("MinValue", number) and number <= spec.get("MaxValue", number), \
                    f"{name}={value} out of range"
            values[name] = value
        return values

    def _wanted(self, declaration: dict[str, Any]) -> bool:
        return "Condition" not in declaration or self.condition(declaration["Condition"])

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            value = self.resolve(self.template["Conditions"][name])
            assert isinstance(value, bool), f"condition {name} is not a boolean: {value!r}"
            self._conditions[name] = value
        return self._conditions[name]

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function replaced by its result."""
        if isinstance(value, list):
            return [v for v in (self.resolve(item) for item in value) if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), = value.items()
            if key in {"Ref", "Condition"} or key.startswith("Fn::"):
                return self._function(key, argument)
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in value.items()) if v is not _NO_VALUE}

    def _function(self, name: str, argument: Any) -> Any:
        match name:
            case "Ref":
                return self._ref(argument)
            case "Condition":
                return self.condition(argument)
            case "Fn::GetAtt":
                resource, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                assert resource in self.template["Resources"], f"GetAtt of unknown resource {resource}"
                return Att(resource, attribute)
            case "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                return self._sub(text, {k: self.resolve(v) for k, v in variables.items()})
            case "Fn::If":
                condition, if_true, if_false = argument
                return self.resolve(if_true if self.condition(condition) else if_false)
            case "Fn::Equals":
                left, right = (self.resolve(a) for a in argument)
                return str(left) == str(right)
            case "Fn::Not":
                return not self.resolve(argument[0])
            case "Fn::And":
                return all(self.resolve(a) for a in argument)
            case "Fn::Or":
                return any(self.resolve(a) for a in argument)
            case "Fn::Join":
                separator, items = argument
                return separator.join(str(i) for i in self.resolve(items))
            case "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(self.resolve(index))]
            case "Fn::Split":
                separator, text = argument
                return str(self.resolve(text)).split(separator)
            case "Fn::FindInMap":
                mapping, key, attribute = (self.resolve(a) for a in argument)
                return self.template["Mappings"][mapping][key][attribute]
        raise NotImplementedError(f"{name} is not understood by this test helper")

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        assert name in self.template["Resources"], f"Ref to unknown name {name}"
        return Ref(name)

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] in self.template["Resources"]:
                return str(Att(*name.split(".", 1)))
            return str(self._ref(name))

        return _SUB_VARIABLE.sub(value, text).replace("${!", "${")

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """The resources of one type (after conditions), by logical id."""
        return {name: r for name, r in self.resources.items() if r["Type"] == resource_type}
