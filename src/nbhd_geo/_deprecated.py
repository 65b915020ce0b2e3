"""Old flat module paths (before 0.2) kept for one release as thin, warning aliases."""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from typing import Any


def alias(old: str, new: str, *, call: str | None = None) -> None:
    """Make module ``old`` a warning alias of module ``new``.

    Attribute access on the old module is forwarded to the new one. With ``call``, the old
    module object is also callable as the function of that name, so ``nbhd_geo.tension``
    stays the function even after ``import nbhd_geo.tension`` binds the module on the
    package (the shadowing the 0.1 layout had).
    """
    warnings.warn(
        f"{old} has moved to {new}; import it from there or from nbhd_geo "
        "(the old path will be removed in the next release)",
        DeprecationWarning,
        stacklevel=3,
    )
    target = importlib.import_module(new)
    module = sys.modules[old]

    def __getattr__(name: str) -> Any:
        return getattr(target, name)

    def __dir__() -> list[str]:
        return sorted(set(dir(target)))

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    module.__dir__ = __dir__  # type: ignore[method-assign]
    module.__all__ = list(getattr(target, "__all__", []))  # type: ignore[attr-defined]
    if call is not None:
        func = getattr(target, call)

        class _CallableModule(types.ModuleType):
            def __call__(self, *args: Any, **kwargs: Any) -> Any:
                return func(*args, **kwargs)

        module.__class__ = _CallableModule
