"""``python -m spyglass``: the command line."""

if __name__ == "__main__":  # guarded: extraction workers start from a fork server that imports the main module
    from spyglass.cli.main import main

    main()
