"""`train` traces the train step once: the optimizer's slots exist before the first trace, so
tf.function does not trace again to lift variables created inside it."""

from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

from tfllm.config import apply_overrides
from tfllm.presets import get_preset
from tfllm.training import train


def test_the_train_step_is_traced_once(tmp_path, monkeypatch):
    traces = []
    original = TensorFlowTrainer.train_step

    def counted(self, data):  # its Python body runs only while tf.function traces it
        traces.append(self.optimizer.built)
        return original(self, data)

    monkeypatch.setattr(TensorFlowTrainer, "train_step", counted)
    config = apply_overrides(get_preset("smoke"), [
        "train.steps=2", "train.eval_interval=1", "train.warmup_steps=1",
        "train.sample_length=0"])
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("ROMEO: But soft, what light through yonder window breaks?\n" * 200)
    config = apply_overrides(config, [f"data.corpus={corpus}"])
    train(config, run_dir=tmp_path / "run", verbose=0, print_fn=lambda *_: None)
    assert traces == [True]
