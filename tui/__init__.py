"""The Textual dashboard (``realnet tui``); it grows in its own issue."""
