#!/usr/bin/env python3
"""PyTorch + PEFT side of scripts/bench-train: the same model shape, LoRA and batch as
model-factory/examples/bench_train.rs, timed the same way. Prints one JSON line.

    bench_train.py <timed steps> <warmup steps> <batch> [cpu|cuda]
"""
import json
import re
import sys
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

steps, warmup, batch = (int(a) for a in sys.argv[1:4])
device = sys.argv[4] if len(sys.argv) > 4 else "cpu"
seq = 256
torch.manual_seed(1)
cfg = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                  num_attention_heads=9, num_key_value_heads=3, rms_norm_eps=1e-5, rope_theta=100000.0,
                  tie_word_embeddings=True, max_position_embeddings=2048)
model = LlamaForCausalLM(cfg).float().to(device)
model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0,
                                         target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
model.train()
opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4, weight_decay=0.0)
ids = torch.randint(0, 49152, (steps + warmup, batch, seq + 1), device=device)


def step(i):
    x = ids[i]
    logits = model(input_ids=x[:, :-1]).logits
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), x[:, 1:].reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss.item()


for i in range(warmup):
    step(i)
if device == "cuda":
    torch.cuda.synchronize()
t0 = time.perf_counter()
losses = [step(warmup + i) for i in range(steps)]
if device == "cuda":
    torch.cuda.synchronize()
secs = time.perf_counter() - t0
print(json.dumps({"engine": f"pytorch {torch.__version__} + peft", "tokens_per_s": steps * batch * seq / secs,
                  "seconds_per_step": secs / steps, "steps": steps, "batch": batch, "seq": seq, "loss": losses,
                  "threads": torch.get_num_threads(), "device": device,
                  "blas": (re.findall(r"BLAS_INFO=([^,\s]+)", torch.__config__.show()) or ["unknown"])[0]}))
