import pytest

from kexue.prompting import Verbalizer


def test_token_ids_per_label_and_word(tiny):
    _, tok = tiny
    v = Verbalizer({"pos": ["很", "好"], "neg": "不"})
    assert v.labels == ["pos", "neg"]
    assert v.token_ids(tok) == [[[tok.token_to_id("很")], [tok.token_to_id("好")]],
                                [[tok.token_to_id("不")]]]


def test_a_word_the_vocab_does_not_know_is_an_error(tiny):
    _, tok = tiny
    with pytest.raises(ValueError, match=r"'优' of label 'pos' becomes \['\[UNK\]'\]"):
        Verbalizer({"pos": "优", "neg": "差"}).token_ids(tok)


def test_words_of_different_lengths_are_an_error_unless_asked(tiny):
    _, tok = tiny
    with pytest.raises(ValueError, match="different token lengths"):
        Verbalizer({"sport": "体育", "good": "好"}).token_ids(tok)
    with pytest.raises(ValueError, match="needs reduce='mean'"):
        Verbalizer({"sport": "体育", "good": "好"}, mixed_lengths=True)
    v = Verbalizer({"sport": "体育", "good": "好"}, reduce="mean", mixed_lengths=True)
    assert [len(w[0]) for w in v.token_ids(tok)] == [2, 1]


@pytest.mark.parametrize("words", [{}, {"a": []}, {"a": ""}])
def test_empty_labels_or_words_are_errors(words):
    with pytest.raises(ValueError):
        Verbalizer(words)
