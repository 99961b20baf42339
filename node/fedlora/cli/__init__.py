"""Command-line interface: thin Typer wiring over the library packages."""
