"""Training word2vec end to end: the CLI on a small corpus, and (slow) the quality on the plays."""

import contextlib
import io
import json

import numpy as np
import pytest

from tfllm.cli.main import main
from tfllm.data import read_word_vectors
from tfllm.experiments import Word2VecSettings, load_vectors, train_word2vec
from tfllm.tokenizers import load_tokenizer

SENTENCES = [
    "the king and the queen sat upon the throne of the realm",
    "my lord and my lady walked in the garden at night",
    "the father and the mother spoke of their son and daughter",
    "by day the sun and by night the moon shone on the castle",
]


def _cli(*argv):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["embeddings", *argv])
    return code, stdout.getvalue(), stderr.getvalue()


def test_cli_train_then_neighbours(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(SENTENCES[i % 4] + "." for i in range(80)) + "\n")
    output = tmp_path / "w2v"
    code, out, err = _cli("train", "--method", "word2vec", "--corpus", str(corpus), "--output",
                          str(output), "--steps", "20", "--dim", "8", "--batch-size", "32",
                          "--min-frequency", "1", "--quiet")
    assert code == 0, err
    assert "Vectors saved to" in out and "king:" in out
    vectors = read_word_vectors(output / "vectors.txt", format="word2vec")
    words = set(" ".join(SENTENCES).split())
    assert set(vectors.words) == words and vectors.dimension == 8  # no "." and no specials
    metadata = json.loads((output / "metadata.json").read_text())
    assert metadata["settings"]["steps"] == 20 and metadata["words"] == len(words)
    tokenizer = load_tokenizer(output / "tokenizer")
    assert tokenizer.fingerprint == metadata["tokenizer_fingerprint"]
    assert (output / "projector" / "projector_config.pbtxt").is_file()

    code, out, err = _cli("neighbours", "--vectors", str(output), "--word", "King", "-k", "3")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3 and all(line.split()[1] in words - {"king"} for line in lines)


def test_cli_train_refuses_a_missing_corpus(tmp_path):
    code, out, err = _cli("train", "--corpus", str(tmp_path / "absent.txt"), "--output",
                          str(tmp_path / "w2v"), "--steps", "1")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "absent.txt" in err
    assert not (tmp_path / "w2v").exists()


@pytest.mark.slow
def test_word2vec_on_the_plays_puts_related_pairs_closer_than_random_pairs(tmp_path):
    settings = Word2VecSettings(steps=3000, seed=7)
    result = train_word2vec(output_dir=tmp_path / "w2v", settings=settings, verbose=0,
                            print_fn=lambda *args: None)
    pairs = result.metadata["related_pairs"]
    print(json.dumps(pairs, indent=1))  # the figures, for `pytest -s`
    assert len(pairs["pairs"]) == 10  # every pair's words made the vocabulary
    assert pairs["related_mean"] > pairs["random_mean"] + 2 * pairs["random_std"]
    assert pairs["fraction_above_random_p95"] >= 0.7
    vectors = load_vectors(tmp_path / "w2v")
    assert np.array_equal(vectors.vectors, result.vectors.vectors)
