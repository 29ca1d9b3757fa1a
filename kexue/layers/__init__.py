"""kexue.layers."""
