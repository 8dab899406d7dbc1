"""Tables of this part of insight (see the package docstring)."""
