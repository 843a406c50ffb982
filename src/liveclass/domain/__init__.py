"""Pure rules of live classes: lifecycle, roles, permissions. No I/O, no framework imports."""
