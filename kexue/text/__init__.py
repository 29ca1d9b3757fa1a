"""kexue.text: Chinese text tools.

- ``vocab``      ``load_vocab`` (+ bert4keras simplification → ``keep_tokens``), ``save_vocab``
- ``tokenizer``  ``Tokenizer``: BERT WordPiece with ``encode/decode/tokenize/rematch``
- ``wobert``     WoBERT vocabulary, jieba word tokenizer, ``compound_tokens`` (archives/7758)
- ``vocab_build`` a vocabulary for a new corpus: characters by frequency, or WordPiece
- ``vocab_carry`` a checkpoint's rows carried to a new vocabulary (``keep_tokens`` /
  ``compound_tokens``, domain pretraining)
- ``ngrams``     streaming character n-gram counting with a bounded table
- ``discovery``  new-word discovery: cohesion, cutting, back-tracking (archives/4256, 6920)
- ``segment``    unigram max-probability segmentation with a lexicon (archives/5476)
- ``evaluate``   word P/R/F1 against gold, bits per character, merge gain (archives/5476)
"""

from kexue.text.discovery import (
    DiscoveryResult,
    WordDiscovery,
    auto_min_count,
    discover_words,
    load_lexicon,
    save_lexicon,
)
from kexue.text.evaluate import bits_per_char, merge_gain, merge_gain_approx, score_segmentation
from kexue.text.ngrams import NgramCounter
from kexue.text.segment import Segmenter
from kexue.text.tokenizer import Tokenizer, truncate_sequences
from kexue.text.vocab import load_vocab, save_vocab, simplify_vocab
from kexue.text.wobert import JiebaWords, WoBERTVocab, build_wobert_vocab, wobert_tokenizer

__all__ = [
    "Tokenizer",
    "truncate_sequences",
    "load_vocab",
    "save_vocab",
    "simplify_vocab",
    "WoBERTVocab",
    "JiebaWords",
    "build_wobert_vocab",
    "wobert_tokenizer",
    "NgramCounter",
    "WordDiscovery",
    "DiscoveryResult",
    "discover_words",
    "auto_min_count",
    "save_lexicon",
    "load_lexicon",
    "Segmenter",
    "score_segmentation",
    "bits_per_char",
    "merge_gain",
    "merge_gain_approx",
]
