"""One module per revision: 0001 (format 2), 0002 (format 3)."""
