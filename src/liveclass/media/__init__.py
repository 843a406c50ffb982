"""Media backends: one module per backend behind the ``MediaBackend`` protocol."""
