"""Queries and exports of word vectors: neighbours, analogies, the projector, the vectors directory,
and the `tfllm embeddings` commands that read them."""

import contextlib
import io
import json

import numpy as np
import pytest

import tfllm.experiments
from tfllm.cli.main import main
from tfllm.data import (
    WordVectors,
    WordVectorsError,
    analogy,
    cosine_similarity,
    nearest_neighbours,
    read_word_vectors,
    related_pair_similarity,
    write_word_vectors,
)
from tfllm.export import export_projector, load_vectors, save_vectors_dir

# A toy space: x is "gender", y "royal", z "young"; every person vector has norm sqrt(2), so
# king - man + woman is exactly queen, and prince - king + queen exactly princess.
TOY = WordVectors(
    ["man", "woman", "king", "queen", "prince", "princess", "apple", "stone"],
    np.array([
        [1.0, -1.0, 0.0], [-1.0, -1.0, 0.0], [1.0, 1.0, 0.0], [-1.0, 1.0, 0.0],
        [1.0, 0.0, 1.0], [-1.0, 0.0, 1.0], [0.0, 0.1, -3.0], [0.2, -0.1, -3.0],
    ]),
)


def test_nearest_neighbours_by_cosine_excludes_the_word():
    found = nearest_neighbours(TOY, "king", k=3)
    unit = TOY.vectors / np.linalg.norm(TOY.vectors, axis=1, keepdims=True)
    expected = sorted(((w, float(unit[2] @ unit[i])) for i, w in enumerate(TOY.words) if i != 2),
                      key=lambda pair: -pair[1])[:3]
    assert found[0] == ("prince", pytest.approx(0.5)) and expected[0][0] == "prince"
    assert [s for _, s in found] == pytest.approx([s for _, s in expected])
    assert nearest_neighbours(TOY, "KING", k=1)[0][0] == "prince"  # lowercase fallback
    assert len(nearest_neighbours(TOY, "king", k=100)) == 7


def test_analogy_finds_the_fourth_word():
    assert analogy(TOY, "man", "king", "woman", k=1)[0][0] == "queen"
    assert analogy(TOY, "king", "prince", "queen", k=1)[0][0] == "princess"


def test_cosine_similarity_and_k():
    assert cosine_similarity(TOY, "king", "prince") == pytest.approx(0.5)
    assert cosine_similarity(TOY, "King", "queen") == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(WordVectorsError, match="`k` must be a positive integer. Received: k=0"):
        nearest_neighbours(TOY, "king", k=0)


def test_experiments_still_exports_the_moved_names():
    assert tfllm.experiments.nearest_neighbours is nearest_neighbours
    assert tfllm.experiments.analogy is analogy
    assert tfllm.experiments.related_pair_similarity is related_pair_similarity
    assert tfllm.experiments.load_vectors is load_vectors
    assert tfllm.experiments.save_vectors_dir is save_vectors_dir
    assert tfllm.experiments.export_projector is export_projector


def test_unknown_word_suggests_close_spellings():
    with pytest.raises(WordVectorsError, match=r"'qeen' has no vector .* Close: queen"):
        nearest_neighbours(TOY, "qeen")


def test_related_pairs_against_random_pairs():
    report = related_pair_similarity(TOY, pairs=[("king", "queen"), ("man", "absent")],
                                     num_random=200, frequent=8)
    assert list(report["pairs"]) == ["king/queen"]
    assert report["pairs"]["king/queen"] == pytest.approx(0.0, abs=1e-6)  # orthogonal
    assert -1 <= report["random_mean"] <= 1 and report["random_std"] > 0


def _projector_tensors(directory):
    """What TensorBoard's projector plugin reads: its own config parser, path resolver, TSV reader."""
    from google.protobuf import text_format
    from tensorboard.plugins.projector import projector_plugin
    from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig

    config_path = directory / "projector_config.pbtxt"
    config = text_format.Parse(config_path.read_text(), ProjectorConfig())
    (embedding,) = config.embeddings
    tensor_path = projector_plugin._rel_to_abs_asset_path(embedding.tensor_path, str(config_path))
    metadata_path = projector_plugin._rel_to_abs_asset_path(embedding.metadata_path, str(config_path))
    tensors = projector_plugin._read_tensor_tsv_file(tensor_path)
    with open(metadata_path, encoding="utf-8") as file:
        metadata = file.read().splitlines()
    return tensors, metadata


def test_projector_export_is_what_tensorboard_reads(tmp_path):
    directory = export_projector(TOY, tmp_path / "projector", counts=list(range(8, 0, -1)))
    tensors, metadata = _projector_tensors(directory)
    np.testing.assert_allclose(tensors, TOY.vectors, rtol=1e-5)
    assert metadata[0] == "word\tcount" and metadata[1:3] == ["man\t8", "woman\t7"]
    tensors, metadata = _projector_tensors(export_projector(TOY, tmp_path / "small", max_words=3))
    assert tensors.shape == (3, 3) and metadata == ["man", "woman", "king"]  # one column, no header


def test_vectors_directory_round_trip(tmp_path):
    path = save_vectors_dir(tmp_path / "w2v", TOY, counts=list(range(8)), metadata={"method": "x"})
    assert sorted(p.name for p in path.iterdir()) == [
        "metadata.json", "projector", "vectors.txt", "vocabulary.tsv"]
    assert [p.name for p in tmp_path.iterdir()] == ["w2v"]  # no staging directory left
    loaded = load_vectors(path)
    assert loaded.words == TOY.words and np.array_equal(loaded.vectors, TOY.vectors)
    assert read_word_vectors(path / "vectors.txt", format="word2vec").words == TOY.words
    assert json.loads((path / "metadata.json").read_text()) == {"method": "x"}
    assert (path / "vocabulary.tsv").read_text().splitlines()[:2] == ["word\tcount", "man\t0"]
    save_vectors_dir(path, WordVectors(["a"], np.ones((1, 3))))  # replaces the old directory
    assert load_vectors(path).words == ["a"]


def _cli(*argv):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["embeddings", *argv])
    return code, stdout.getvalue(), stderr.getvalue()


def test_cli_queries_a_glove_file(tmp_path):
    path = write_word_vectors(tmp_path / "glove.txt", TOY, format="glove")
    code, out, _ = _cli("neighbours", "--vectors", str(path), "--word", "king", "-k", "2")
    assert code == 0 and out.splitlines()[0] == "0.500  prince" and len(out.splitlines()) == 2
    code, out, _ = _cli("analogy", "--vectors", str(path), "man", "king", "woman", "--json")
    assert code == 0 and json.loads(out)["answers"][0][0] == "queen"
    code, out, _ = _cli("projector", "--vectors", str(path), "--output", str(tmp_path / "proj"))
    assert code == 0 and (tmp_path / "proj" / "projector_config.pbtxt").is_file()


@pytest.mark.parametrize("content,argv,message", [
    (None, ["neighbours", "--word", "king"], "No vectors at"),
    ("king 1 2\nqueen 1 2 3\n", ["neighbours", "--word", "king"], "line 2: inconsistent dimensions"),
    ("king 1 2\nqueen 1 3\n", ["neighbours", "--word", "kong"], "'kong' has no vector"),
    ("king 1 2\nqueen 1 3\n", ["analogy", "king", "queen", "jack"], "'jack' has no vector"),
])
def test_cli_errors_are_one_line_with_exit_code_2(tmp_path, content, argv, message):
    path = tmp_path / "v.txt"
    if content is not None:
        path.write_text(content)
    code, out, err = _cli(argv[0], "--vectors", str(path), *argv[1:])
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err
