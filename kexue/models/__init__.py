"""kexue.models."""
