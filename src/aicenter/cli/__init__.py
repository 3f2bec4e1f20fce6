"""The ``aicenter`` command line: Typer commands, one module per noun."""
