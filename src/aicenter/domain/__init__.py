"""Pure value types and entities shared by every layer (no I/O, no clock)."""
