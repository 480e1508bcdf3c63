"""Type definitions and the initial tree, shipped as package data."""
