"""The tree of the hierarchy: apps as sections, folders loaded when a node opens.

Only items that can hold children are nodes. Children come from the store 200 at a
time in a thread worker; a "… more" node at the end loads the next page when chosen.
Highlighting a node shows its children in the table.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode, UnknownNodeID

from realnet.core.errors import RealnetError
from realnet.core.item import ChildrenPage
from realnet.tui.backend import Backend, Section
from realnet.tui.messages import Failed, FolderChosen

MORE = "… more"


@dataclass
class NodeData:
    """What a node stands for: a section (an app's root), an item, or the next page."""

    path: str
    kind: str = "item"  # "section" | "item" | "more"
    cursor: str | None = None
    loaded: bool = False
    #: Counts reloads, so that a page asked for before a reload is dropped when it arrives.
    generation: int = 0


class ResourceTree(Tree[NodeData]):
    """The hierarchy, lazily; ``path_nodes`` finds the nodes that show a path."""

    class SectionsLoaded(Message):
        def __init__(self, sections: list[Section]) -> None:
            super().__init__()
            self.sections = sections

    class PageLoaded(Message):
        def __init__(self, node: TreeNode[NodeData], generation: int, page: ChildrenPage,
                     after: TreeNode[NodeData] | None) -> None:
            super().__init__()
            self.node = node
            self.generation = generation
            self.page = page
            self.after = after

    def __init__(self, backend: Backend, **options: object) -> None:
        super().__init__("Realnet", data=NodeData("/", kind="root"), **options)  # type: ignore[arg-type]
        self.backend = backend
        self.show_root = False
        self.guide_depth = 2
        self.path_nodes: dict[str, list[TreeNode[NodeData]]] = {}

    def on_mount(self) -> None:
        self.run_worker(self._load_sections, thread=True, group="tree-sections")

    def _load_sections(self) -> None:
        self.post_message(self.SectionsLoaded(self.backend.sections()))

    @on(SectionsLoaded)
    def _show_sections(self, event: SectionsLoaded) -> None:
        # Not stopped: the app opens the first section's folder in the table.
        self.root.remove_children()
        self.path_nodes.clear()
        for section in event.sections:
            label = Text(section.title, style="bold")
            if section.root != "/" or section.title != "/":
                label.append(f"  {section.root}", style="dim")
            node = self.root.add(label, NodeData(section.root, kind="section"))
            self._remember(node)
        self.root.expand()
        if self.root.children:
            first = self.root.children[0]
            first.expand()
            self.move_cursor(first)

    def _alive(self, node: TreeNode[NodeData]) -> bool:
        try:
            return self.get_node_by_id(node.id) is node
        except UnknownNodeID:
            return False

    def _remember(self, node: TreeNode[NodeData]) -> None:
        assert node.data is not None
        self.path_nodes.setdefault(node.data.path, []).append(node)

    # -- loading -------------------------------------------------------------------------
    @on(Tree.NodeExpanded)
    def _expanded(self, event: Tree.NodeExpanded[NodeData]) -> None:
        data = event.node.data
        if data is not None and data.kind in ("section", "item") and not data.loaded:
            data.loaded = True
            self._load(event.node, None, None)

    def _load(self, node: TreeNode[NodeData], cursor: str | None, after: TreeNode[NodeData] | None) -> None:
        data = node.data
        assert data is not None
        generation = data.generation

        def load() -> None:
            try:
                page = self.backend.containers(data.path, cursor)
            except RealnetError as e:
                self.post_message(Failed(e, data.path))
                return
            self.post_message(self.PageLoaded(node, generation, page, after))

        self.run_worker(load, thread=True, group="tree")

    @on(PageLoaded)
    def _add_page(self, event: PageLoaded) -> None:
        event.stop()
        node, data = event.node, event.node.data
        if data is None or data.generation != event.generation or not self._alive(node):
            return  # reloaded or removed meanwhile
        if event.after is not None:
            event.after.remove()
        for item in event.page.items:
            label = Text(item.name)
            if item.type != "Folder":
                label.append(f"  {item.type}", style="dim")
            self._remember(node.add(label, NodeData(item.path)))
        if event.page.next_cursor is not None:
            node.add_leaf(Text(MORE, style="italic"), NodeData(data.path, kind="more",
                                                               cursor=event.page.next_cursor))
        if not node.children:
            node.allow_expand = False

    @on(Tree.NodeSelected)
    def _selected(self, event: Tree.NodeSelected[NodeData]) -> None:
        data = event.node.data
        if data is not None and data.kind == "more" and event.node.parent is not None:
            event.stop()
            event.node.set_label(Text("… loading", style="italic dim"))
            self._load(event.node.parent, data.cursor, event.node)

    @on(Tree.NodeHighlighted)
    def _highlighted(self, event: Tree.NodeHighlighted[NodeData]) -> None:
        data = event.node.data
        # Only a person moving in the tree changes the table, not a reload moving the cursor.
        if self.has_focus and data is not None and data.kind in ("section", "item"):
            self.post_message(FolderChosen(data.path))

    # -- after changes ---------------------------------------------------------------------
    def reload(self, path: str) -> None:
        """Load the children of the nodes that show ``path`` again (after a save or delete)."""
        for node in list(self.path_nodes.get(path, ())):
            data = node.data
            if data is None or not self._alive(node):
                continue
            self._forget_below(node)
            node.remove_children()
            data.generation += 1
            data.loaded = False
            node.allow_expand = True
            if node.is_expanded:
                data.loaded = True
                self._load(node, None, None)

    def forget(self, path: str) -> None:
        """Remove the nodes of ``path`` (deleted), leaving their siblings as they are."""
        for node in self.path_nodes.pop(path, []):
            if self._alive(node):
                self._forget_below(node)
                node.remove()

    def _forget_below(self, node: TreeNode[NodeData]) -> None:
        for child in node.children:
            self._forget_below(child)
            if child.data is not None:
                nodes = self.path_nodes.get(child.data.path, [])
                if child in nodes:
                    nodes.remove(child)

    def follow(self, path: str) -> None:
        """Put the cursor on the node of ``path`` when it is loaded and in view (the table
        opened a folder); the tree asks nothing of the store for it."""
        for node in self.path_nodes.get(path, ()):
            if self._alive(node) and all(a.is_expanded for a in _ancestors(node)):
                if self.cursor_node is not node:
                    self.move_cursor(node)
                return

    def current_path(self) -> str | None:
        node = self.cursor_node
        if node is None or node.data is None or node.data.kind == "more":
            return None
        return node.data.path


def _ancestors(node: TreeNode[NodeData]) -> list[TreeNode[NodeData]]:
    found = []
    while node.parent is not None:
        node = node.parent
        found.append(node)
    return found
