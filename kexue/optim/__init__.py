"""kexue.optim."""
