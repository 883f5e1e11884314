"""A tiny third-party mldebt rule pack: every rule class in this package is registered."""
