"""mldebt's built-in rule pack, registered through the ``mldebt.rules`` entry point like any
third-party pack: every rule class defined in this package's modules is picked up."""
