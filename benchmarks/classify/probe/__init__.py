"""How far fine-tuning can take the MiniLM encoder on CarePulse's two tasks: a PyTorch probe.

The served model is LoRA adapters trained in TensorFlow on 2 CPU cores within the time budget
(`training.classify`). This probe asks what more epochs, all 47k tweets, a larger
rank or a full fine-tune would buy, on the same splits, fast enough to try on a GPU:

    python -m benchmarks.classify.probe.export --data-dir ../shared/datasets --out DIR   # .venv
    python -m benchmarks.classify.probe.finetune DIR --run intent:intent_train:10:5e-5:0:0  # torch

`export` writes the splits of the v4 recipe as token ids (vocabulary pruned to the ids they use)
and the encoder in float16, about 41 MB, small enough to carry to a GPU machine that has PyTorch
but not this project's TensorFlow. `finetune` scores the head on the pooled unit vector, as
served, but without the exemplar votes, the n-grams or temperature: compare it with the
bundles' head-only rows.
"""
