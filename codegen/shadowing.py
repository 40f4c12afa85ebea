"""Schema classes that would take a name the generated code already uses.

A schema becomes a class of the same name, imported wherever it is used. Two things go wrong
when that name is taken:

- In a generated module, the class and something else bound to the same name at module level
  (``Protocol`` from ``typing``, ``Response`` from ``.types``, the facade's ``Operation``):
  one shadows the other and the module no longer type-checks, or worse, runs wrong.
- Next to the package's own public names (``Client``, ``Response``, ``File``, ``Unset``,
  the facade's ``Operation``, ``Invoker``, ``UsersResource`` ...): two meanings for one name.

Both lists are read from the generated modules themselves (their module-level imports and
definitions), never kept by hand, so a template that starts importing a new name protects it
at once. The way out is always the same: rename the class with ``class_overrides`` in
``codegen/config.yaml``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

from codegen.errors import SpecError

__all__ = ["check_shadowing", "module_bindings"]

#: The modules whose definitions are the package's public names.
_PUBLIC_MODULES = ("__init__.py", "client.py", "errors.py", "facade.py", "types.py")


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, including those under ``if TYPE_CHECKING:`` and ``try:``."""
    for statement in body:
        if isinstance(statement, ast.If):
            yield from _statements(statement.body)
            yield from _statements(statement.orelse)
        elif isinstance(statement, ast.Try):
            yield from _statements(statement.body)
        else:
            yield statement


def module_bindings(source: str) -> dict[str, set[str]]:
    """Each module-level name of ``source`` and where it comes from.

    The origin is ``from <module> import <name>``, ``import <module>``, ``class``, ``def``
    or ``=``; a name bound twice from the same origin (a ``TYPE_CHECKING`` import repeated
    after the class) counts once.
    """
    bindings: dict[str, set[str]] = {}
    for statement in _statements(ast.parse(source).body):
        if isinstance(statement, ast.ImportFrom):
            module = "." * statement.level + (statement.module or "")
            for alias in statement.names:
                origin = f"from {module} import {alias.name}"
                bindings.setdefault(alias.asname or alias.name, set()).add(origin)
        elif isinstance(statement, ast.Import):
            for alias in statement.names:
                name = alias.asname or alias.name.split(".")[0]
                bindings.setdefault(name, set()).add(f"import {alias.name.split('.')[0]}")
        elif isinstance(statement, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            kind = "class" if isinstance(statement, ast.ClassDef) else "def"
            bindings.setdefault(statement.name, set()).add(kind)
        elif isinstance(statement, ast.Assign | ast.AnnAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    bindings.setdefault(target.id, set()).add("=")
    return bindings


def _is_model(origin: str, class_name: str, in_models: bool) -> bool:
    """Whether ``origin`` binds the model class itself (its import, or its own definition)."""
    if origin == "class":
        return in_models
    return ".models." in origin and origin.endswith(f" import {class_name}")


def _describe(origin: str, name: str) -> str:
    if origin == "=":
        return f"the assignment to {name}"
    if origin in {"class", "def"}:
        return f"the {origin} {name}"
    return f"`{origin}`"


def check_shadowing(package_dir: Path, model_classes: Mapping[str, str]) -> None:
    """Fail when a model class takes a name the generated package already uses.

    Args:
        package_dir: The generated package.
        model_classes: Each model or enum class, and the spec location of its schema.

    Raises:
        SpecError: Naming the schema, the name, where it is taken, and the fix.
    """
    public: dict[str, str] = {}
    for module in _PUBLIC_MODULES:
        path = package_dir / module
        if not path.exists():
            continue
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        for name, origins in module_bindings(source).items():
            if origins & {"class", "def", "="}:
                public.setdefault(name, module)
        for statement in tree.body:
            if isinstance(statement, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "__all__"
                for target in statement.targets
            ):
                for element in ast.walk(statement.value):
                    if isinstance(element, ast.Constant) and isinstance(element.value, str):
                        public.setdefault(element.value, module)

    models_dir = package_dir / "models"
    for class_name, location in sorted(model_classes.items()):
        if class_name in public:
            taken_by = f"the package's own {class_name} (in {public[class_name]})"
            raise _error(class_name, location, taken_by)

    for path in sorted(package_dir.rglob("*.py")):
        if path.parent == models_dir and path.name == "__init__.py":
            continue  # the lazy models index: one binding per model, by construction
        for name, origins in module_bindings(path.read_text(encoding="utf-8")).items():
            if name not in model_classes or len(origins) < 2:
                continue
            in_models = path.parent == models_dir
            others = sorted(o for o in origins if not _is_model(o, name, in_models))
            if others:
                relative = path.relative_to(package_dir).as_posix()
                taken_by = f"{_describe(others[0], name)} in {relative}"
                raise _error(name, model_classes[name], taken_by)


def _error(class_name: str, location: str, taken_by: str) -> SpecError:
    return SpecError(
        f"the schema's class {class_name} would shadow {taken_by}",
        location=location,
        fix=(
            f"rename the class in codegen/config.yaml: class_overrides: {{{class_name}: "
            f"{{class_name: {class_name}Model}}}}"
        ),
    )
