"""kexue.objectives."""
