"""Conv1D sequence-classification recipe (kexue.fm/archives/5505)."""
