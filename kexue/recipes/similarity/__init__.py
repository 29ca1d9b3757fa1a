"""Similarity recipes (issue 18): small CPU trainings of the kexue.fm sentence-matching
articles on the senteval_cn train parts; see :mod:`kexue.recipes.similarity.train`."""
