"""Resources give types behaviour. A type's ``module`` names a registered resource.

Built-ins register here by name exactly as plugins do through the ``realnet.resources``
entry-point group. Code is never loaded from data: an item can only name a resource
that is already registered, never an import path.
"""

from __future__ import annotations

from importlib import import_module

from realnet.core.errors import ValidationError
from realnet.resources.base import Resource

BUILTIN: dict[str, str] = {
    "folder": "realnet.resources.builtin:FolderResource",
    "document": "realnet.resources.builtin:DocumentResource",
    "file": "realnet.resources.builtin:FileResource",
    "link": "realnet.resources.builtin:LinkResource",
    "type": "realnet.resources.builtin:TypeResource",
    "app": "realnet.resources.builtin:AppResource",
    "documents": "realnet.resources.mounts:DocumentsResource",
    "filetree": "realnet.resources.mounts:FileTreeResource",
    "kubernetes": "realnet.resources.mounts:KubernetesResource",
}


class ResourceRegistry:
    """Maps a registered resource name to its class, importing each on first use."""

    def __init__(self, targets: dict[str, str] | None = None, *, plugins: bool = True) -> None:
        self._targets = dict(BUILTIN if targets is None else targets)
        self._classes: dict[str, type[Resource]] = {}
        self._plugins_pending = plugins

    def _load_plugins(self) -> None:
        # Reading entry points costs a scan of site-packages: only when a name is not built in.
        if self._plugins_pending:
            from importlib.metadata import entry_points

            self._plugins_pending = False
            for ep in entry_points(group="realnet.resources"):
                self._targets.setdefault(ep.name, ep.value)

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._targets)

    def get(self, name: str | None) -> type[Resource]:
        if name is None:
            return Resource
        cls = self._classes.get(name)
        if cls is None:
            if name not in self._targets:
                self._load_plugins()
            target = self._targets.get(name)
            if target is None:
                raise ValidationError(f"module {name!r}: not a registered resource")
            module_name, _, attr = target.partition(":")
            cls = self._classes[name] = getattr(import_module(module_name), attr)
        return cls
