"""kexue.text."""
