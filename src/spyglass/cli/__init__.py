"""The ``spyglass`` command line. One module per command group; :mod:`spyglass.cli.main` assembles them."""
