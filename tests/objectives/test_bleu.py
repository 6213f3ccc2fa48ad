"""corpus_bleu / sentence_bleu / tokenize_13a equal sacreBLEU's defaults; inputs are checked."""

import math
import random
import string

import pytest
import sacrebleu
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

from tfllm.objectives import BleuScore, corpus_bleu, sentence_bleu, tokenize_13a

CASES = {
    "identical": (["the cat sat on the mat"], ["the cat sat on the mat"]),
    "two lines": (
        ["It is a guide to action which ensures that the military always obeys the commands.",
         "he read the book because he was interested in world history"],
        ["It is a guide to action that ensures that the military will forever heed Party commands.",
         "he was interested in world history because he read the book"],
    ),
    "empty hypothesis": (["", "the cat sat on the mat"], ["a dog", "the cat sat on a mat"]),
    "all hypotheses empty": (["", ""], ["a dog barked", "the cat"]),
    "empty reference": (["something said"], [""]),
    "no 4-gram match": (["the cat sat on a mat"], ["the cat is on the mat"]),
    "no match at all": (["alpha beta gamma"], ["delta epsilon zeta"]),
    "shorter than four tokens": (["the cat", "a dog"], ["the cat", "a dog ran"]),
    "longer than reference": (
        ["the cat sat on the mat and then it sat on the mat again and again"],
        ["the cat sat on the mat"],
    ),
    "punctuation and numbers": (
        ['Hello, world! "Quoted" (parens) 3.14 1,000 1990-1995 don\'t well-known a.b, c.'],
        ["Hello world! 'Quoted' [parens] 3.14 1.000 1990 - 1995 don't well known a.b c."],
    ),
    "case-sensitive": (["The Cat Sat On The Mat"], ["the cat sat on the mat"]),
    "unicode": (
        ["Émile a vu l'été — très beau… «oui» ça va? 東京 は 大きい"],
        ["Émile a vu l’été – très beau... « oui » ça va ? 東京 は 大きい"],
    ),
    "entities and breaks": (
        ["fish &amp; chips &lt;b&gt; <skipped> well-\nknown\nline  "],
        ["fish & chips <b> well-known line"],
    ),
    "shakespeare": (
        ["what trade art thou", "truly sir in respect of a fine workman i am but"],
        ["What trade, art thou?", "Truly, sir, in respect of a fine workman, I am but,"],
    ),
}


def assert_equals_sacrebleu(ours, theirs):
    assert ours.score == pytest.approx(theirs.score, abs=1e-6)
    assert ours.precisions == pytest.approx(theirs.precisions, abs=1e-6)
    assert ours.brevity_penalty == pytest.approx(theirs.bp, abs=1e-6)
    assert ours.ratio == pytest.approx(theirs.ratio, abs=1e-6)
    assert (ours.hypothesis_length, ours.reference_length) == (theirs.sys_len, theirs.ref_len)


@pytest.mark.parametrize("name", CASES)
def test_corpus_bleu_equals_sacrebleu(name):
    hypotheses, references = CASES[name]
    assert_equals_sacrebleu(
        corpus_bleu(hypotheses, references), sacrebleu.corpus_bleu(hypotheses, [references])
    )


@pytest.mark.parametrize("name", CASES)
def test_sentence_bleu_equals_sacrebleu(name):
    hypotheses, references = CASES[name]
    for hypothesis, reference in zip(hypotheses, references):
        assert_equals_sacrebleu(
            sentence_bleu(hypothesis, reference), sacrebleu.sentence_bleu(hypothesis, [reference])
        )


def test_random_corpora_equal_sacrebleu():
    rng = random.Random(0)
    words = "the cat sat on mat a dog , . ! ? it's 3.14 don't well-known Émile".split()
    for _ in range(100):
        lines = rng.randint(1, 4)
        hypotheses = [" ".join(rng.choices(words, k=rng.randint(0, 12))) for _ in range(lines)]
        references = [" ".join(rng.choices(words, k=rng.randint(0, 12))) for _ in range(lines)]
        assert_equals_sacrebleu(
            corpus_bleu(hypotheses, references), sacrebleu.corpus_bleu(hypotheses, [references])
        )


def test_hand_computed_score():
    # 1-grams 6/7, 2-grams 4/6, 3-grams 2/5, 4-grams 1/4; lengths 7 and 7, so BP = 1.
    score = corpus_bleu(["the cat sat on the red mat"], ["the cat sat on a red mat"])
    expected = math.exp((math.log(6 / 7) + math.log(4 / 6) + math.log(2 / 5) + math.log(1 / 4)) / 4)
    assert score.score == pytest.approx(100 * expected)
    assert score.brevity_penalty == 1.0 and score.ratio == 1.0


def test_identical_corpus_scores_100_and_missing_words_are_penalised():
    assert corpus_bleu(["a b c d e"], ["a b c d e"]).score == pytest.approx(100.0)
    short = corpus_bleu(["a b c d"], ["a b c d e"])
    assert short.precisions == (100.0, 100.0, 100.0, 100.0)
    assert short.brevity_penalty == pytest.approx(math.exp(1 - 5 / 4))


def test_exp_smoothing_of_orders_without_matches():
    # No 3- or 4-gram matches: p3 = 100 / (2 * 4), p4 = 100 / (4 * 3).
    score = corpus_bleu(["a b x c d e"], ["a b y c d z"])
    assert score.precisions[2:] == pytest.approx((100 / 8, 100 / 12))


def test_empty_hypotheses_score_zero():
    score = corpus_bleu(["", ""], ["a b", "c"])
    assert score.score == 0.0 and score.brevity_penalty == 0.0 and score.hypothesis_length == 0


def test_str_reads_like_sacrebleu():
    text = str(corpus_bleu(["the cat sat on the mat"], ["the cat sat on the mat"]))
    assert text == (
        "BLEU = 100.00 100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 hyp_len = 6 ref_len = 6)"
    )


@pytest.mark.parametrize(
    "line, tokens",
    [
        ("Hello, world!", ["Hello", ",", "world", "!"]),
        ("It's well-known.", ["It's", "well-known", "."]),
        ("Pi is 3.14, not 3,15.", ["Pi", "is", "3.14", ",", "not", "3,15", "."]),
        ("1990-1995", ["1990", "-", "1995"]),
        ('"(a)" [b] {c} <d> e/f', ['"', "(", "a", ")", '"', "[", "b", "]", "{", "c", "}", "<", "d",
                                  ">", "e", "/", "f"]),
        ("a &amp; b &quot;c&quot;", ["a", "&", "b", '"', "c", '"']),
        ("line-\nbreak\nhere", ["linebreak", "here"]),
        ("l’été — «oui»", ["l’été", "—", "«oui»"]),
        ("   ", []),
    ],
)
def test_tokenize_13a(line, tokens):
    assert tokenize_13a(line) == tokens


def test_tokenize_13a_equals_sacrebleu_on_random_strings():
    reference_tokenizer = Tokenizer13a()
    rng = random.Random(0)
    alphabet = string.printable + "éß—’«»" + "0123456789.,-" * 3
    for _ in range(2000):
        line = "".join(rng.choices(alphabet, k=rng.randint(0, 25)))
        assert tokenize_13a(line) == reference_tokenizer(line).split(), repr(line)


def test_result_is_frozen():
    score = corpus_bleu(["a"], ["a"])
    assert isinstance(score, BleuScore)
    with pytest.raises(AttributeError):
        score.score = 0.0


@pytest.mark.parametrize(
    "hypotheses, references, message",
    [
        (["a", "b"], ["a"], r"same length.*Received: len\(hypotheses\)=2, len\(references\)=1"),
        ([], [], "at least one line"),
        ("a b", ["a b"], "Received: hypotheses='a b'"),
        (["a"], [["a"]], r"Received: references\[0\]=\['a'\]"),
        (["a", None], ["a", "b"], r"Received: hypotheses\[1\]=None"),
        (["a"], None, "Received: references=None"),
    ],
)
def test_invalid_inputs(hypotheses, references, message):
    with pytest.raises(ValueError, match=message):
        corpus_bleu(hypotheses, references)


def test_sentence_bleu_checks_its_strings():
    with pytest.raises(ValueError, match=r"Received: hypothesis=\['a'\]"):
        sentence_bleu(["a"], "a")
    with pytest.raises(ValueError, match="Received: reference=None"):
        sentence_bleu("a", None)
