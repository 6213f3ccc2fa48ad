"""One worker of a localhost multi-worker job, started by the distributed tests (not a test).

Usage: python train_worker.py CONFIG_JSON RUN_DIR WEIGHTS_NPZ

The caller sets TF_CONFIG (this worker's task) and CUDA_VISIBLE_DEVICES="". The worker trains
the config with `tfllm.training.train` under its `train.strategy`, prints one line per epoch
("epoch N step S", flushed, so the test can time a SIGTERM) and writes its final weights.
"""

import json
import sys

import keras
import numpy as np


class _EpochPrinter(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        print(f"epoch {epoch + 1} step {step}", flush=True)


def main(config_json, run_dir, weights_path):
    from tfllm.config import RunConfig
    from tfllm.training import train

    config = RunConfig.from_dict(json.loads(config_json))
    run = train(config, run_dir=run_dir, verbose=0, callbacks=[_EpochPrinter()],
                print_fn=lambda text: print(text, flush=True))
    np.savez(weights_path, *[np.asarray(w) for w in run.model.get_weights()])
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
