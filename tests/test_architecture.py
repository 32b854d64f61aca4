"""The layering rules of docs/architecture.md, checked by parsing each module's imports (nothing is run)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "provision"
SDKS = ("alibabacloud_", "darabonba", "Tea", "openai", "dashscope")
OUTPUT = ("rich", "typer", "click")
PURE = ("provision.manifest", "provision.desired", "provision.plan")
# The flow, one folder per stage (docs/architecture.md): a stage imports earlier stages, never later ones.
LAYERS = ("provision.manifest", "provision.desired", "provision.plan", "provision.state",
          "provision.providers",
          "provision.engine", "provision.checks", "provision.audit", "provision.cli")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path) -> list[str]:
    """Absolute names of everything a package module imports."""
    return imports_in(path.read_text(), module_name(path), is_package=path.name == "__init__.py")


def imports_in(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """Absolute names a source imports, function-level and relative imports included."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            name, inner = from_import(node, package)
            # ``from provision.manifest import lint`` may name a submodule
            names += [name, *inner]
    return names


def from_import(node: ast.ImportFrom, package: list[str]) -> tuple[str, list[str]]:
    """The absolute module a ``from … import`` names (relative ones resolved in ``package``), and each
    imported name under it (``a.b`` for ``from a import b``: maybe a submodule)."""
    base = package[:len(package) - node.level + 1] if node.level else []
    name = ".".join(base + ([node.module] if node.module else []))
    return name, [f"{name}.{alias.name}" for alias in node.names]


def local_closure(start: str, known: dict[str, Path]) -> dict[str, set[str]]:
    """Module → its imports, for ``start`` and every provision module it reaches."""
    seen: dict[str, set[str]] = {}
    todo = [m for m in known if m == start or m.startswith(start + ".")]
    while todo:
        name = todo.pop()
        if name in seen or name not in known:
            continue
        seen[name] = set(imports(known[name]))
        todo += [i for i in seen[name] if i in known]
    return seen


def is_external(name: str, prefixes: tuple[str, ...]) -> bool:
    top = name.split(".")[0]
    return any(top == p or (p.endswith("_") and top.startswith(p)) for p in prefixes)


@pytest.mark.parametrize("start", PURE)
def test_pure_modules_import_no_sdk_and_no_output_library(start: str) -> None:
    known = modules()
    assert any(m == start or m.startswith(start + ".") for m in known), f"layer {start} is missing"
    offenders = sorted(f"{mod} imports {name}" for mod, names in local_closure(start, known).items()
                       for name in names if is_external(name, SDKS + OUTPUT))
    assert offenders == []


def test_emulator_never_imports_the_provisioner() -> None:
    known = modules()
    offenders = sorted(f"{mod} imports {name}" for mod, path in known.items()
                       if mod.startswith("provision.emulator") for name in imports(path)
                       if name.split(".")[0] == "provision" and not name.startswith("provision.emulator"))
    assert offenders == []


def test_only_providers_import_the_alibaba_cloud_sdks() -> None:
    known = modules()
    offenders = sorted(f"{mod} imports {name}" for mod, path in known.items()
                       if not mod.startswith(("provision.providers.alibaba", "provision.emulator"))
                       for name in imports(path) if is_external(name, ("alibabacloud_", "darabonba", "Tea")))
    assert offenders == []


COMMON = "provision.providers.common"
CLOUD_PACKAGES = ("provision.providers.alibaba", "provision.providers.huawei")


def is_cloud_sdk(name: str) -> bool:
    """An Alibaba Cloud SDK module, or a Huawei Cloud one (``huaweicloudsdkcore``, ``huaweicloudsdkiam``)."""
    return is_external(name, ("alibabacloud_", "darabonba", "Tea")) or name.startswith("huaweicloudsdk")


def test_the_common_providers_import_no_cloud_sdk_and_no_cloud_package() -> None:
    """providers/common is what both clouds share: it may not pull in either cloud's SDK or package."""
    known = modules()
    assert any(m.startswith(COMMON + ".") for m in known), f"{COMMON} holds no module"
    offenders = sorted(f"{mod} imports {name}" for mod, path in known.items() if mod.startswith(COMMON)
                       for name in imports(path)
                       if is_cloud_sdk(name) or name.startswith(CLOUD_PACKAGES))
    assert offenders == []


def test_the_huawei_providers_import_nothing_from_the_alibaba_providers() -> None:
    known = modules()
    assert any(m.startswith("provision.providers.huawei.") for m in known)
    offenders = sorted(f"{mod} imports {name}" for mod, path in known.items()
                       if mod.startswith("provision.providers.huawei") for name in imports(path)
                       if name.startswith("provision.providers.alibaba"))
    assert offenders == []


def test_the_cloud_package_guards_see_an_offender() -> None:
    """Guards the guards: a common module importing a cloud's SDK or package is an offender."""
    names = imports_in("from provision.providers.alibaba.calls import call\nimport huaweicloudsdkiam\n",
                       "provision.providers.common.m")
    assert any(n.startswith(CLOUD_PACKAGES) for n in names)
    assert any(is_cloud_sdk(n) for n in names) and not is_cloud_sdk("huawei_notes")


def test_the_import_parser_sees_relative_and_nested_imports() -> None:
    """Guards the guard: a parser that saw nothing would pass every rule above."""
    source = ("import os\n"
              "def f():\n    import rich.console\n    from .. import resources\n    from . import w\n")
    names = imports_in(source, "provision.emulator.m")
    assert {"os", "rich.console", "provision.resources", "provision.emulator.w"} <= set(names)
    assert is_external("rich.console", OUTPUT) and is_external("alibabacloud_ram20150501.client", SDKS)
    assert not is_external("richer", OUTPUT)


def layer_of(module: str) -> int | None:
    for index, layer in enumerate(LAYERS):
        if module == layer or module.startswith(layer + "."):
            return index
    return None


@pytest.mark.parametrize("layer", LAYERS)
def test_each_stage_of_the_flow_is_a_package(layer: str) -> None:
    known = modules()
    assert layer in known, f"{layer} is missing: docs/architecture.md names it as a stage of the flow"
    assert any(m.startswith(layer + ".") for m in known), f"{layer} holds no module"


def test_a_stage_never_imports_a_later_stage() -> None:
    known = modules()
    offenders: list[str] = []
    for mod, path in known.items():
        mine = layer_of(mod)
        if mine is None:
            continue
        for name in imports(path):
            theirs = layer_of(name)
            if theirs is not None and theirs > mine:
                offenders.append(f"{mod} ({LAYERS[mine]}) imports {name} ({LAYERS[theirs]})")
    assert sorted(offenders) == []


def test_no_flat_module_is_left_beside_the_stages() -> None:
    """Only the shared leaves (errors, clock) and the demo sit directly in provision/."""
    flat = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert flat == ["clock.py", "demo.py", "errors.py"]


# The core asks the provider registry (providers/registry.py) for the cloud's parts; it never branches on it.
CORE = ("provision.engine", "provision.checks", "provision.audit", "provision.cli")
CLOUD_NAMES = ("alibabacloud", "huaweicloud")


def cloud_branches(source: str) -> list[str]:
    """Comparisons with a cloud's name or with a ``cloud``/``provider`` value, and the names themselves."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and node.value in CLOUD_NAMES:
            found.append(f"line {node.lineno}: names the cloud {node.value!r}")
        elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
            sides = [node.left, *node.comparators]
            named = [s for s in sides if (isinstance(s, ast.Attribute) and s.attr in ("cloud", "provider"))
                     or (isinstance(s, ast.Name) and s.id in ("cloud", "provider"))]
            if named:
                found.append(f"line {node.lineno}: compares the cloud ({ast.unparse(node)})")
    return found


def cloud_owned(module: str) -> bool:
    """A cloud's own module inside a stage (``checks/huawei/``, ``audit/huawei.py``) may name it."""
    return any(part.startswith("huawei") for part in module.split("."))


def test_the_core_never_branches_on_the_cloud() -> None:
    known = modules()
    offenders = sorted(f"{mod} {what}" for mod, path in known.items()
                       if mod.startswith(CORE) and not cloud_owned(mod)
                       for what in cloud_branches(path.read_text()))
    assert offenders == []


def test_the_cloud_branch_guard_sees_a_branch() -> None:
    """Guards the guard: each form of branching on the cloud is caught."""
    assert cloud_branches('if context.cloud == "x":\n    pass\n')
    assert cloud_branches('if provider != other:\n    pass\n')
    assert cloud_branches('NAME = "huaweicloud"\n')
    assert not cloud_branches('entry_point(context.cloud, "verify")\n')


# "No module over ~400 lines" (issue 8), over the whole package, the emulator included (its largest module
# has 398). A module over the limit is split by concept, not trimmed.
MAX_LINES = 400
# Over the limit today, split by another branch in flight: remove the entry when it lands.
def oversized(paths: list[Path], root: Path, limit: int = MAX_LINES) -> list[str]:
    """``path: N lines`` for each module longer than ``limit`` lines."""
    found = []
    for path in paths:
        count = len(path.read_text().splitlines())
        if count > limit:
            found.append(f"{path.relative_to(root).as_posix()}: {count} lines")
    return found


def test_no_module_is_over_400_lines() -> None:
    found = oversized(sorted(PACKAGE.rglob("*.py")), PACKAGE.parent)
    assert found == []


def test_the_length_guard_sees_a_long_module(tmp_path: Path) -> None:
    (tmp_path / "long.py").write_text("x = 1\n" * (MAX_LINES + 1))
    (tmp_path / "short.py").write_text("x = 1\n" * MAX_LINES)
    assert oversized(sorted(tmp_path.glob("*.py")), tmp_path) == [f"long.py: {MAX_LINES + 1} lines"]
