"""`tfllm embeddings`: train word vectors, and query or export any word2vec/GloVe vectors.

    tfllm embeddings train --method word2vec --output saved_models/w2v   # on the bundled plays
    tfllm embeddings neighbours --vectors saved_models/w2v --word king
    tfllm embeddings analogy --vectors saved_models/w2v man king woman   # man : king :: woman : ?
    tfllm embeddings projector --vectors glove.6B.100d.txt --output runs/projector

`--vectors` takes a directory written by `embeddings train` or a GloVe / word2vec text file.
Training calls `tfllm.experiments.train_word2vec`; queries `tfllm.data.word_vector_queries`;
reading and exporting `tfllm.export`.
"""

import json

from tfllm.cli.argument_types import bounded, positive_int
from tfllm.cli.tensorflow_startup import import_tensorflow
from tfllm.paths import check_corpus_path, check_vectors_path

positive_float = bounded(float, 1e-12, "a number > 0")
METHODS = ("word2vec",)
FORMATS = ("auto", "word2vec", "glove")


def register(commands):
    embeddings = commands.add_parser(
        "embeddings", help="word vectors: train word2vec, nearest neighbours, analogies, projector"
    )
    actions = embeddings.add_subparsers(
        dest="embeddings_command", metavar="ACTION", parser_class=type(embeddings)
    )
    actions.required = True

    train = actions.add_parser("train", help="train skip-gram word2vec and save a vectors directory")
    train.add_argument("--method", choices=METHODS, default="word2vec",
                       help="skip-gram with negative sampling (default)")
    train.add_argument("--output", required=True,
                       help="the vectors directory to write, e.g. saved_models/w2v")
    train.add_argument("--overwrite", action="store_true",
                       help="replace a file or another kind of tfllm directory at --output "
                            "(a vectors directory tfllm wrote is replaced without it)")
    train.add_argument("--corpus", default="shakespeare",
                       help="'shakespeare' (the bundled plays, default), a UTF-8 .txt file or a folder")
    train.add_argument("--encoding-errors", choices=("strict", "replace", "skip"), default="strict")
    train.add_argument("--dim", type=positive_int, help="vector length D (default 100)")
    train.add_argument("--window", type=positive_int, help="largest target-context distance (default 5)")
    train.add_argument("--negatives", type=positive_int, help="noise words per pair (default 5)")
    train.add_argument("--min-frequency", type=positive_int,
                       help="rarer words are left out (default 5)")
    train.add_argument("--max-vocabulary", type=positive_int, help="largest vocabulary (default 20000)")
    train.add_argument("--batch-size", type=positive_int, help="pairs per step (default 1024)")
    train.add_argument("--steps", type=positive_int, help="optimiser steps (default 15000)")
    train.add_argument("--learning-rate", type=positive_float, help="Adam's initial rate (default 0.01)")
    train.add_argument("--subsample", type=positive_float,
                       help="word2vec's subsampling threshold (default 1e-3)")
    train.add_argument("--seed", type=int, help="random seed (default 1337)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=_train)

    neighbours = actions.add_parser("neighbours", aliases=["neighbors"],
                                    help="the words nearest to a word (cosine similarity)")
    _vectors_arguments(neighbours)
    neighbours.add_argument("--word", required=True, help="the word to look up")
    neighbours.add_argument("-k", "--k", type=positive_int, default=10, help="how many (default 10)")
    neighbours.add_argument("--json", action="store_true", help="print one JSON object")
    neighbours.set_defaults(handler=_neighbours)

    analogy = actions.add_parser("analogy", help="A is to B as C is to ? (nearest to B - A + C)")
    _vectors_arguments(analogy)
    analogy.add_argument("words", nargs=3, metavar="WORD", help="A B C, e.g. man king woman")
    analogy.add_argument("-k", "--k", type=positive_int, default=5, help="how many answers (default 5)")
    analogy.add_argument("--json", action="store_true", help="print one JSON object")
    analogy.set_defaults(handler=_analogy)

    projector = actions.add_parser("projector", help="export vectors for TensorBoard's projector")
    _vectors_arguments(projector)
    projector.add_argument("--output", required=True, help="the projector log directory to write")
    projector.add_argument("--max-words", type=positive_int,
                           help="keep the first N words (the projector slows down past ~50k)")
    projector.set_defaults(handler=_projector)


def _vectors_arguments(parser):
    parser.add_argument("--vectors", required=True,
                        help="a directory from `tfllm embeddings train`, or a GloVe/word2vec text file")
    parser.add_argument("--format", choices=FORMATS, default="auto",
                        help="text format of a vectors file (default: detect the word2vec header)")


def _train(args):
    from tfllm.export.output_guard import check_output_dir

    check_corpus_path(args.corpus)
    check_output_dir(args.output, overwrite=args.overwrite, kind="vectors")  # before TensorFlow
    import_tensorflow()
    import dataclasses

    from tfllm.experiments.word_embeddings import Word2VecSettings, train_word2vec

    chosen = {
        "embedding_dim": args.dim,
        "window_size": args.window,
        "num_negatives": args.negatives,
        "min_frequency": args.min_frequency,
        "max_vocabulary_size": args.max_vocabulary,
        "batch_size": args.batch_size,
        "steps": args.steps,
        "learning_rate": args.learning_rate,
        "subsample": args.subsample,
        "seed": args.seed,
    }
    settings = dataclasses.replace(
        Word2VecSettings(), **{key: value for key, value in chosen.items() if value is not None}
    )
    result = train_word2vec(
        args.corpus,
        output_dir=args.output,
        settings=settings,
        encoding_errors=args.encoding_errors,
        overwrite=args.overwrite,
        verbose=0 if args.quiet else "auto",
    )
    from tfllm.data.word_vector_queries import nearest_neighbours

    for word in ("king", "night", "love"):
        if word in result.vectors:
            close = ", ".join(w for w, _ in nearest_neighbours(result.vectors, word, k=6))
            print(f"  {word}: {close}")
    print(f"Query it: tfllm embeddings neighbours --vectors {args.output} --word king")
    return 0


def _load(args):
    """The vectors of --vectors; a missing path is reported before TensorFlow is imported."""
    check_vectors_path(args.vectors)
    import_tensorflow()
    from tfllm.export.vectors_directory import load_vectors

    return load_vectors(args.vectors, format=args.format)


def _neighbours(args):
    vectors = _load(args)
    from tfllm.data.word_vector_queries import nearest_neighbours

    found = nearest_neighbours(vectors, args.word, k=args.k)
    if args.json:
        print(json.dumps({"word": args.word, "neighbours": [[w, round(s, 4)] for w, s in found]}))
    else:
        for word, score in found:
            print(f"{score:.3f}  {word}")
    return 0


def _analogy(args):
    vectors = _load(args)
    from tfllm.data.word_vector_queries import analogy

    a, b, c = args.words
    found = analogy(vectors, a, b, c, k=args.k)
    if args.json:
        print(json.dumps({"query": [a, b, c], "answers": [[w, round(s, 4)] for w, s in found]}))
    else:
        print(f"{a} is to {b} as {c} is to:")
        for word, score in found:
            print(f"{score:.3f}  {word}")
    return 0


def _projector(args):
    vectors = _load(args)
    from tfllm.export.embedding_projector import export_projector

    directory = export_projector(vectors, args.output, max_words=args.max_words)
    shown = len(vectors) if args.max_words is None else min(args.max_words, len(vectors))
    print(f"Wrote {shown:,} vectors of dimension {vectors.dimension} to {directory}. "
          f"View them: tensorboard --logdir {directory} (Projector tab).")
    return 0
