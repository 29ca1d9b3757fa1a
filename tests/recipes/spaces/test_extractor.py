"""The SPACES extractor learns a sentence-level signal and cross-predicts held-out folds."""

import numpy as np

from kexue.recipes.spaces.extractor import Extractor, cross_predict


def test_cross_prediction_recovers_a_learnable_label():
    rng = np.random.default_rng(0)
    docs = [rng.normal(size=(int(rng.integers(8, 20)), 6)).astype(np.float32) for _ in range(12)]
    labels = [(d[:, 0] > 0).astype(int).tolist() for d in docs]
    probs = cross_predict(docs, labels, folds=3, epochs=60, hidden_size=16, lr=1e-2)
    assert [len(p) for p in probs] == [len(d) for d in docs]
    accuracy = np.mean(np.concatenate([(p > 0.5) == np.asarray(y, bool)
                                       for p, y in zip(probs, labels)]))
    assert accuracy > 0.8


def test_blocks_start_as_identity():
    model = Extractor(6, hidden_size=8, dilations=(1, 2)).eval()
    assert all(float(b.alpha) == 0.0 for b in model.blocks)
