"""The retrieval baseline: the nearest training question's equation, with this question's
numbers put in.

For a new question, find the training question with the highest cosine similarity of
character 1–3-gram TF-IDF vectors, take its equation, and replace every number of that
equation which is the k-th number of its question by the k-th number of the new question
(numbers the training question does not write, such as ``100`` or ``3.14``, stay). It needs
no model and measures how much of Ape210K is template matching: the floor the solver must
beat (issue 15). Needs scikit-learn (``pip install kexue[recipes]``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kexue.recipes.mwp.constraints import question_numbers

__all__ = ["RetrievalBaseline", "substitute_numbers"]

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def substitute_numbers(equation: str, source_question: str, target_question: str) -> str:
    """``equation`` (written for ``source_question``) with the k-th number of the source
    question replaced by the k-th number of ``target_question`` wherever it occurs."""
    source = question_numbers(source_question)
    target = question_numbers(target_question)
    position = {}
    for k, n in enumerate(source):
        position.setdefault(n, k)

    def swap(match: re.Match) -> str:
        k = position.get(match.group(0))
        return target[k] if k is not None and k < len(target) else match.group(0)

    return _NUMBER.sub(swap, equation)


class RetrievalBaseline:
    """Nearest training question by character n-gram TF-IDF (see the module docstring)."""

    def __init__(self, train: Sequence, ngram_range: tuple[int, int] = (1, 3)) -> None:
        try:
            from sklearn.feature_extraction.text import TfidfVectorizer
        except ImportError as err:  # an optional extra
            raise ImportError("the retrieval baseline needs scikit-learn "
                              "(pip install 'kexue[recipes]')") from err
        if not train:
            raise ValueError("the retrieval baseline needs training problems")
        self.train = list(train)
        self.vectorizer = TfidfVectorizer(analyzer="char", ngram_range=ngram_range,
                                          sublinear_tf=True)
        self.matrix = self.vectorizer.fit_transform([p.question for p in self.train])

    def nearest(self, questions: Sequence[str]) -> list[int]:
        """Index of the most similar training question for each question."""
        if not questions:
            return []
        sims = self.vectorizer.transform(list(questions)) @ self.matrix.T
        return [int(i) for i in sims.toarray().argmax(axis=1)]

    def predict(self, questions: Sequence[str]) -> list[str]:
        """The substituted equation of the nearest training question, for each question."""
        out = []
        for q, i in zip(questions, self.nearest(questions), strict=True):
            best = self.train[i]
            out.append(substitute_numbers(best.equation, best.question, q))
        return out
