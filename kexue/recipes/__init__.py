"""kexue.recipes."""
