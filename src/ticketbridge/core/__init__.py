"""Domain rules as pure functions and dataclasses. Nothing here does I/O."""
