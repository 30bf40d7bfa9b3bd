"""Trains the @cbtm/train reference GPT in PyTorch and prints tokens/s, for `npm run bench -w @cbtm/train`.

Same model as cbtm's GptModel: pre-LayerNorm blocks, GELU (tanh), learned positions, tied
input/output embeddings, causal attention; AdamW (0.9, 0.95, weight decay 0.1) and gradient
clipping at 1.0. Random token batches, so only the training step is timed.

With --models N it trains N fresh models one after another (as a single process would train
k experts and the dense model) and reports tokens/s over the whole loop, model creation and
each model's first step included.

Usage: /usr/bin/python3 tools/train/torch_bench.py [--steps 5] [--threads 2] [--models 1] [--json]
"""

import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, heads, mlp_ratio):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, mlp_ratio * d)
        self.fc2 = nn.Linear(mlp_ratio * d, d)

    def forward(self, x, mask):
        b, t, d = x.shape
        h = self.heads
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q = q.view(b, t, h, d // h).transpose(1, 2)
        k = k.view(b, t, h, d // h).transpose(1, 2)
        v = v.view(b, t, h, d // h).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // h))
        att = att.masked_fill(mask[:t, :t] == 0, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, d)
        x = x + self.proj(y)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))


class Gpt(nn.Module):
    def __init__(self, vocab, layers, d, heads, ctx, mlp_ratio):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(ctx, d)
        self.blocks = nn.ModuleList([Block(d, heads, mlp_ratio) for _ in range(layers)])
        self.lnf = nn.LayerNorm(d)
        self.register_buffer("mask", torch.tril(torch.ones(ctx, ctx)))
        for p in self.parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx, targets):
        t = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(t, device=idx.device))
        for block in self.blocks:
            x = block(x, self.mask)
        logits = self.lnf(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ctx", type=int, default=128)
    ap.add_argument("--mlp-ratio", type=int, default=4)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    build = torch.__config__.parallel_info().splitlines()
    build = ", ".join(
        line.strip() for line in build if line.startswith(("ATen parallel backend", "MKL", "MKL-DNN", "OpenMP"))
    )
    data = torch.randint(0, a.vocab, (a.steps + 1, a.batch, a.ctx + 1))

    if a.models > 1:
        start = time.perf_counter()
        for _ in range(a.models):
            model, opt = make(a)
            for i in range(a.steps):
                train_step(model, opt, data, i)
        seconds = time.perf_counter() - start
        tps = a.models * a.steps * a.batch * a.ctx / seconds
        out = {"tokensPerSecond": tps, "torch": torch.__version__, "build": build, "threads": a.threads,
               "steps": a.steps, "models": a.models}
        print(json.dumps(out) if a.json else f"pytorch {torch.__version__}, {a.models} models: {tps:.0f} tokens/s")
        return

    model, opt = make(a)

    def step(i):
        return train_step(model, opt, data, i)

    step(0)  # warm-up
    start = time.perf_counter()
    for i in range(1, a.steps + 1):
        step(i)
    seconds = time.perf_counter() - start
    tps = a.steps * a.batch * a.ctx / seconds
    out = {"tokensPerSecond": tps, "torch": torch.__version__, "build": build, "threads": a.threads, "steps": a.steps}
    print(json.dumps(out) if a.json else f"pytorch {torch.__version__}, {a.threads} threads: {tps:.0f} tokens/s")


def make(a):
    model = Gpt(a.vocab, a.layers, a.d, a.heads, a.ctx, a.mlp_ratio)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
        lr=1e-3,
        betas=(0.9, 0.95),
    )
    return model, opt


def train_step(model, opt, data, i):
    x, y = data[i, :, :-1], data[i, :, 1:]
    loss = model(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.item()


if __name__ == "__main__":
    main()
