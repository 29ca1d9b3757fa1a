"""kexue.decoding."""
