"""Math word problems (kexue.fm/archives/7809): Ape210K / Math23K data, a safe evaluator,
the UniLM solver, output standardisation, a retrieval baseline."""
