"""kexue.data."""
