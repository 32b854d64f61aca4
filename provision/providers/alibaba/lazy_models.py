"""The SDKs' ``models`` packages, loaded one model at a time: importing this module installs the hook.

Each Alibaba Cloud SDK package (``alibabacloud_<product><version>``) has a generated ``models/__init__.py``
that imports every request and response class of the product, one file each: 1,214 files for VPC and
1,152 for ECS, about 1 s of CPU before the first call although a run uses a dozen of them. The hook keeps
the package's own files and paths, reads the ``from ._file import Name`` lines of that ``__init__.py``
instead of running them, and imports a model's file when the model is first looked up
(``models.ListUsersRequest``, ``from ...models import ListUsersRequest``, or the SDK's own
``main_models.X`` inside ``from_map``). An ``__init__`` of another shape is imported as usual.
"""

from __future__ import annotations

import importlib
import re
import sys
import threading
from collections.abc import Sequence
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path
from types import ModuleType
from typing import Any

_PACKAGE = re.compile(r"alibabacloud_[a-z_]+\d{8}\.models")
_LINE = re.compile(r"^from \.(_\w+) import (\w+)$", re.MULTILINE)
_OTHER = re.compile(r"^(?!from \._\w+ import \w+$|from __future__ import|#|__all__|\s|\]|$).+$", re.MULTILINE)


class _Finder(MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None,
                  ) -> ModuleSpec | None:
        if not _PACKAGE.fullmatch(fullname):
            return None
        spec = PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None or not spec.origin.endswith("__init__.py"):
            return None
        source = Path(spec.origin).read_text(encoding="utf-8")
        names = {name: f".{file}" for file, name in _LINE.findall(source)}
        if not names or _OTHER.search(source):  # anything but the generated imports: load it as it is
            return None
        spec.loader = _Loader(names, spec.loader)
        return spec


class _Loader(Loader):
    def __init__(self, names: dict[str, str], original: Loader | None) -> None:
        self.names = names
        self.original = original
        self.lock = threading.RLock()

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        names, lock = self.names, self.lock

        def __getattr__(name: str) -> Any:  # noqa: N807 (the module-level hook of PEP 562)
            where = names.get(name)
            if where is None:
                raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")
            with lock:  # two threads asking for the first time import it once
                value = getattr(importlib.import_module(where, module.__name__), name)
                setattr(module, name, value)
            return value

        def __dir__() -> list[str]:  # noqa: N807
            return sorted({*module.__dict__, *names})

        module.__getattr__ = __getattr__  # type: ignore[method-assign]
        module.__dir__ = __dir__  # type: ignore[method-assign]


def install() -> None:
    """Put the hook first on ``sys.meta_path`` (once); packages imported before stay as they are."""
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


install()
