"""The core: items, paths, types, errors and the context facade. Standard library only."""
