"""``python -m benchmarks.classify.probe.finetune DIR --run SPEC [--run SPEC ...]``.

SPEC is ``task:train_split:epochs:learning_rate:seed:rank``, such as
``intent:intent_train:10:5e-5:0:0``. Rank 0: every encoder weight trains; rank r > 0: LoRA
pairs of rank r on the same six dense layers per block as `FineTuneConfig` (A normal with
variance 1/fan-in, B zero), plus biases and LayerNorms, the base frozen. One
encoder and one head per run, trained on one task. Prints a JSON line per evaluation and, last,
a JSON summary; each run reports its last evaluation and the one its validation split prefers.
Needs PyTorch, transformers and safetensors (the benchmark virtualenv, or a GPU machine's).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch  # type: ignore[import-not-found]
import torch.nn.functional as F  # type: ignore[import-not-found]
from safetensors.numpy import load_file
from transformers import BertConfig, BertModel

from training.classify.fit import FineTuneConfig

# The served recipe's adapted dense layers (fit.py needs only numpy, so it imports here).
LORA_TARGETS = FineTuneConfig().targets
HEAD_LEARNING_RATE = 2e-2  # as the served recipe: heads on unit vectors need large weights
CLASSES = {"intent": 77, "sentiment": 3}


@dataclass(frozen=True)
class RunSpec:
    task: str
    train: str
    epochs: int
    learning_rate: float
    seed: int
    rank: int

    @classmethod
    def parse(cls, text: str) -> RunSpec:
        task, train, epochs, lr, seed, rank = text.split(":")
        if task not in CLASSES or not train.startswith(task):
            raise argparse.ArgumentTypeError(f"bad run {text!r}")
        return cls(task, train, int(epochs), float(lr), int(seed), int(rank))


class Split:
    """Token ids and labels of one exported split, batched by similar length."""

    def __init__(self, arrays: Any, name: str, device: Any) -> None:
        lengths = arrays[f"{name}_lengths"]
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        ids = arrays[f"{name}_ids"].astype(np.int64)
        self.rows = [ids[offsets[i] : offsets[i + 1]] for i in range(len(lengths))]
        self.labels = arrays[f"{name}_labels"].astype(np.int64)
        self.device = device

    def __len__(self) -> int:
        return len(self.rows)

    def batches(
        self, size: int, rng: np.random.Generator | None = None
    ) -> Iterator[tuple[np.ndarray, Any, Any, Any]]:
        """(row indices, ids, mask, labels); shuffled when `rng` is given. Rows are sorted by
        length within runs of 50 batches, so padding stays small."""
        order = np.arange(len(self)) if rng is None else rng.permutation(len(self))
        groups: list[np.ndarray] = []
        for start in range(0, len(order), size * 50):
            chunk = sorted(order[start : start + size * 50], key=lambda i: len(self.rows[i]))
            groups += [np.array(chunk[i : i + size]) for i in range(0, len(chunk), size)]
        if rng is not None:
            groups = [groups[i] for i in rng.permutation(len(groups))]
        for rows in groups:
            width = max(len(self.rows[i]) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                ids[r, : len(self.rows[i])] = self.rows[i]
            tensor = torch.from_numpy(ids).to(self.device)
            labels = torch.from_numpy(self.labels[rows]).to(self.device)
            yield rows, tensor, (tensor != 0).long(), labels


class LoRALinear(torch.nn.Module):  # type: ignore[misc]
    """`base(x) + scale * x A B`, A random and B zero, so training starts from the base."""

    def __init__(self, base: Any, rank: int, alpha: float = 16.0) -> None:
        super().__init__()
        self.base, self.scale = base, alpha / rank
        fan_in = base.in_features
        self.a = torch.nn.Parameter(torch.randn(fan_in, rank) / math.sqrt(fan_in))
        self.b = torch.nn.Parameter(torch.zeros(rank, base.out_features))

    def forward(self, x: Any) -> Any:
        return self.base(x) + (x @ self.a.to(x.dtype)) @ self.b.to(x.dtype) * self.scale


class PooledClassifier(torch.nn.Module):  # type: ignore[misc]
    """MiniLM, mean pooling, L2 normalisation and a linear head: the served geometry."""

    def __init__(self, model_dir: Path, classes: int, rank: int) -> None:
        super().__init__()
        config = BertConfig.from_dict(json.loads((model_dir / "config.json").read_text()))
        self.encoder = BertModel(config, add_pooling_layer=False)
        weights = load_file(str(model_dir / "encoder.safetensors"))
        state = {k: torch.from_numpy(v.astype(np.float32)) for k, v in weights.items()}
        missing, _ = self.encoder.load_state_dict(state, strict=False)  # the pooler is unused
        if [m for m in missing if "position_ids" not in m]:
            raise ValueError(f"encoder weights lack {missing}")
        self.head = torch.nn.Linear(config.hidden_size, classes)
        if rank:
            self._add_lora(rank)

    def _add_lora(self, rank: int) -> None:
        for parameter in self.encoder.parameters():
            parameter.requires_grad = False
        for name, module in list(self.encoder.named_modules()):
            if isinstance(module, torch.nn.Linear) and name.endswith(LORA_TARGETS):
                parent, attribute = name.rsplit(".", 1)
                setattr(self.encoder.get_submodule(parent), attribute, LoRALinear(module, rank))
        for name, parameter in self.encoder.named_parameters():
            if name.endswith((".a", ".b", "bias")) or "LayerNorm" in name:
                parameter.requires_grad = True

    def forward(self, ids: Any, mask: Any) -> Any:
        hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return self.head(F.normalize(pooled.float(), dim=-1))


def scores(model: Any, split: Split, classes: int, device: Any) -> tuple[float, float]:
    """Accuracy and macro recall of `model` on `split`."""
    model.eval()
    predicted = np.empty(len(split), dtype=np.int64)
    with torch.no_grad(), _autocast(device):
        for rows, ids, mask, _ in split.batches(256):
            predicted[rows] = model(ids, mask).argmax(-1).cpu().numpy()
    model.train()
    gold = split.labels
    recalls = [(predicted[gold == k] == k).mean() for k in range(classes) if (gold == k).any()]
    return float((predicted == gold).mean()), float(np.mean(recalls))


def run(spec: RunSpec, data_dir: Path, arrays: Any, device: Any) -> dict[str, Any]:
    torch.manual_seed(spec.seed)
    rng = np.random.default_rng(spec.seed)
    classes = CLASSES[spec.task]
    train = Split(arrays, spec.train, device)
    val = Split(arrays, f"{spec.task}_val", device)
    held_out = Split(arrays, f"{spec.task}_eval", device)
    model = PooledClassifier(data_dir, classes, spec.rank).to(device)
    model.train()
    lora = [p for n, p in model.encoder.named_parameters() if n.endswith((".a", ".b"))]
    other = [
        p
        for n, p in model.encoder.named_parameters()
        if p.requires_grad and not n.endswith((".a", ".b"))
    ]
    optimizer = torch.optim.AdamW(
        [
            {"params": lora, "lr": spec.learning_rate, "weight_decay": 0.01},
            {"params": other, "lr": spec.learning_rate, "weight_decay": 0.0 if lora else 0.01},
            {"params": model.head.parameters(), "lr": HEAD_LEARNING_RATE, "weight_decay": 0.0},
        ]
    )
    batch_size = 32
    per_epoch = math.ceil(len(train) / batch_size)
    steps, warmup = spec.epochs * per_epoch, max(1, int(0.06 * spec.epochs * per_epoch))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup)))
    )
    class_weights = None
    if spec.task == "sentiment":  # its metric is macro recall: weigh by inverse frequency
        counts = np.bincount(train.labels, minlength=classes)
        class_weights = torch.tensor(len(train) / (classes * counts), dtype=torch.float32)
        class_weights = class_weights.to(device)
    # Tweets: two evaluations per epoch (few, long epochs); intents: one.
    every = per_epoch // (2 if spec.task == "sentiment" else 1)
    started, history, step = time.monotonic(), [], 0
    for _ in range(spec.epochs):
        for _, ids, mask, labels in train.batches(batch_size, rng):
            with _autocast(device):
                logits = model(ids, mask)
            loss = F.cross_entropy(logits.float(), labels, weight=class_weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            if step % every == 0 or step == steps:
                val_scores = scores(model, val, classes, device)
                held_out_scores = scores(model, held_out, classes, device)
                row = asdict(spec) | {
                    "epoch": round(step / per_epoch, 2),
                    "val_accuracy": round(val_scores[0], 4),
                    "val_macro_recall": round(val_scores[1], 4),
                    "eval_accuracy": round(held_out_scores[0], 4),
                    "eval_macro_recall": round(held_out_scores[1], 4),
                    "seconds": round(time.monotonic() - started, 1),
                }
                history.append(row)
                print(json.dumps(row), flush=True)
    metric = "val_accuracy" if spec.task == "intent" else "val_macro_recall"
    return asdict(spec) | {
        "train_size": len(train),
        "selected_by": metric,
        "selected": max(history, key=lambda r: r[metric]),
        "last": history[-1],
    }


def _autocast(device: Any) -> Any:
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.classify.probe.finetune")
    parser.add_argument("data_dir", type=Path, help="what probe.export wrote")
    parser.add_argument("--run", type=RunSpec.parse, action="append", required=True)
    parser.add_argument("--budget-s", type=float, default=math.inf, help="start no run after")
    args = parser.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    summary: dict[str, Any] = {
        "device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "runs": [],
        "skipped": [],
    }
    print(json.dumps(summary), flush=True)
    arrays = np.load(args.data_dir / "splits.npz")
    started = time.monotonic()
    for spec in args.run:
        if time.monotonic() - started > args.budget_s:
            summary["skipped"].append(asdict(spec))
            continue
        summary["runs"].append(run(spec, args.data_dir, arrays, device))
    summary["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
