#!/usr/bin/env python3
"""Reference fixtures for ModelFactory, computed by Hugging Face transformers + PEFT + PyTorch.

Run on demand (never in CI): `scripts/peft-reference` installs the packages into a private venv and
calls this. For each family it builds a tiny random model with a fixed seed and writes, under
`reference/<name>/`:

  config.json, model.safetensors   the base model as `save_pretrained` writes it (f32)
  adapter/                         a PEFT LoRA adapter on every linear module of the blocks, with
                                   random A and B (B is not zero, so the adapter changes the output)
  expected.safetensors             computed in float64 from those same f32 weights:
    input_ids, loss_mask           a batch of two rows; the loss counts positions where the mask is 1
    logits                         base model logits for input_ids
    logits_lora                    logits with the adapter
    loss_lora                      mean next-token cross-entropy over the masked positions
    grad.<PEFT tensor name>        d loss_lora / d each LoRA tensor
    prompt, greedy_lora            a prompt and its greedy continuation (8 tokens) with the adapter

and `reference/nf4/bitsandbytes.safetensors`: a Gaussian matrix, its NF4 codes and block maxima from
bitsandbytes (blocks of 64, no double quantization).

`verify DIR` is the other direction: DIR holds an adapter written by the Rust engine
(`DIR/adapter/`), the name of the fixture it was made for (`DIR/fixture`) and the logits the engine
computed with it (`DIR/logits.safetensors`); PEFT loads the adapter onto the fixture's base model
and must reproduce those logits.
"""

import json
import os
import sys

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import (
    AutoModelForCausalLM,
    BloomConfig,
    DeepseekV2Config,
    DeepseekV3Config,
    GlmConfig,
    Glm4Config,
    GPT2Config,
    LlamaConfig,
    MistralConfig,
    Qwen2Config,
    Qwen2MoeConfig,
    Qwen3Config,
    Qwen3MoeConfig,
)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "reference")
VOCAB = 64

LLAMA_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
# PEFT reads gate/up/down_proj on DeepSeek as LoRA on the fused routed experts: attention only.
DEEPSEEK_LINEAR = ["q_proj", "q_a_proj", "q_b_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj"]
GLM_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_up_proj", "down_proj"]


def families():
    common = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128)
    return {
        # Llama 3 rope scaling with a short original context, so all three frequency bands occur.
        "llama": (LlamaConfig(**common, rms_norm_eps=1e-5, rope_parameters=dict(
            rope_type="llama3", rope_theta=10000.0, factor=8.0, low_freq_factor=1.0,
            high_freq_factor=4.0, original_max_position_embeddings=64)), LLAMA_LINEAR),
        # A window of 4 is shorter than the 7-token batch rows and the generation.
        "mistral": (MistralConfig(**common, sliding_window=4), LLAMA_LINEAR),
        "qwen2": (Qwen2Config(**common, tie_word_embeddings=True), LLAMA_LINEAR),
        "qwen3": (Qwen3Config(**common, head_dim=16), LLAMA_LINEAR),
        # YaRN over a short original context: blended frequencies and cos/sin scaled by
        # 0.1 ln(factor) + 1.
        "qwen2_yarn": (Qwen2Config(**common, rope_parameters=dict(
            rope_type="yarn", rope_theta=10000.0, factor=4.0, original_max_position_embeddings=4)),
            LLAMA_LINEAR),
        # Experts: 4 per sparse layer, 2 per token. Qwen2-MoE: a shared expert with its gate, and
        # layer 1 dense (mlp_only_layers); Qwen3-MoE: every layer sparse, top-k renormalised, LoRA
        # on the attention only (PEFT turns MLP targets there into LoRA on the fused routed
        # experts, `target_parameters`, which the engine does not implement).
        "qwen2_moe": (Qwen2MoeConfig(**common, num_experts=4, num_experts_per_tok=2,
                                     moe_intermediate_size=16, shared_expert_intermediate_size=24,
                                     mlp_only_layers=[1]), LLAMA_LINEAR + ["shared_expert_gate"]),
        "qwen3_moe": (Qwen3MoeConfig(**common, head_dim=16, num_experts=4, num_experts_per_tok=2,
                                     moe_intermediate_size=16, norm_topk_prob=True), LLAMA_LINEAR[:4]),
        # DeepSeek: latent attention with unequal key and value widths, one dense layer then one
        # sparse (8 experts in 4 groups, 2 per token, a shared expert). V2: queries directly (as
        # V2-Lite), group-limited softmax routing. V3: low-rank queries, sigmoid routing with a
        # choice bias (randomised below), YaRN over a short original context.
        "deepseek_v2": (DeepseekV2Config(**dict(common, num_key_value_heads=4), kv_lora_rank=16,
                                         q_lora_rank=None, qk_rope_head_dim=8, qk_nope_head_dim=8,
                                         v_head_dim=12, n_routed_experts=8, n_shared_experts=1,
                                         num_experts_per_tok=2, moe_intermediate_size=16,
                                         first_k_dense_replace=1, topk_method="group_limited_greedy",
                                         n_group=4, topk_group=2, routed_scaling_factor=1.5),
                        DEEPSEEK_LINEAR),
        "deepseek_v3": (DeepseekV3Config(**dict(common, num_key_value_heads=4), kv_lora_rank=16,
                                         q_lora_rank=12, qk_rope_head_dim=8, qk_nope_head_dim=8,
                                         v_head_dim=12, n_routed_experts=8, n_shared_experts=1,
                                         num_experts_per_tok=2, moe_intermediate_size=16,
                                         first_k_dense_replace=1, n_group=4, topk_group=2,
                                         routed_scaling_factor=2.5, norm_topk_prob=True,
                                         rope_parameters=dict(
                                             rope_type="yarn", rope_theta=10000.0, factor=4.0,
                                             original_max_position_embeddings=4, mscale=0.707,
                                             mscale_all_dim=0.707, beta_fast=32, beta_slow=1)),
                        DEEPSEEK_LINEAR),
        "gpt2": (GPT2Config(vocab_size=VOCAB, n_positions=32, n_embd=32, n_layer=2, n_head=4),
                 ["c_attn", "c_proj", "c_fc"]),
        "bloom": (BloomConfig(vocab_size=VOCAB, hidden_size=24, n_layer=2, n_head=6),
                  ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"]),
        "glm": (GlmConfig(**dict(common, num_attention_heads=2, num_key_value_heads=1), head_dim=16,
                          rms_norm_eps=1e-5, pad_token_id=0), GLM_LINEAR),
        "glm4": (Glm4Config(**dict(common, num_attention_heads=2, num_key_value_heads=1), head_dim=16,
                            rms_norm_eps=1e-5, pad_token_id=0), GLM_LINEAR),
        # Added after the others, so the others keep their seeds (1000 + position).
        # Dynamic NTK over a context of 4: the 7-token rows and the generation (5 + 8 tokens)
        # run past it, so the base grows with every new length.
        "llama_dynamic": (LlamaConfig(**{**common, "max_position_embeddings": 4}, rope_parameters=dict(
            rope_type="dynamic", rope_theta=10000.0, factor=2.0)), LLAMA_LINEAR),
        # Position interpolation: every frequency divided by the factor.
        "llama_linear": (LlamaConfig(**common, rope_parameters=dict(
            rope_type="linear", rope_theta=10000.0, factor=2.0)), LLAMA_LINEAR),
    }


def randomize(model, seed):
    """Weights large enough that logits and gradients are far from trivial. A tied LM head reads
    the embedding back, so there a smaller embedding keeps the model from echoing its input."""
    g = torch.Generator().manual_seed(seed)
    embed_std = float(os.environ.get("TIED_EMBED_STD", "0.1")) if model.config.tie_word_embeddings else 1.0
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g, dtype=torch.float32)
            is_norm = "norm" in name or "ln_" in name or "layernorm" in name
            if p.dim() == 1 and is_norm and name.endswith("bias"):
                p.copy_(0.02 * noise)
            elif p.dim() == 1 and is_norm:
                p.copy_(1.0 + 0.1 * noise)
            elif p.dim() == 1:
                p.copy_(0.1 * noise)
            elif "embed" in name or "wte" in name or "wpe" in name:
                p.copy_(embed_std * noise)
            else:
                p.copy_(noise / p.shape[-1] ** 0.5 if p.shape[-1] > 1 else noise)
        # DeepSeek-V3's routing bias is a buffer: non-zero, so that it moves the choice.
        for name, b in model.named_buffers():
            if name.endswith("e_score_correction_bias"):
                b.copy_(0.1 * torch.randn(b.shape, generator=g, dtype=torch.float32))


def batch():
    ids = torch.tensor([[1, 17, 42, 5, 9, 33, 2], [60, 7, 7, 21, 0, 48, 13]])
    mask = torch.ones_like(ids, dtype=torch.float64)
    mask[1, :2] = 0.0  # a "prompt" of two tokens: no loss
    mask[:, -1] = 0.0  # the last position has no next token
    return ids, mask


def masked_loss(logits, ids, mask):
    logp = torch.log_softmax(logits, dim=-1)
    targets = torch.roll(ids, -1, dims=1)
    picked = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return -(picked * mask).sum() / mask.sum()


def make(name, cfg, targets, seed):
    torch.manual_seed(seed)
    cfg._attn_implementation = "eager"
    extra = {}
    if any(getattr(cfg, k, 0) for k in ("num_experts", "n_routed_experts", "num_local_experts")):
        extra["experts_implementation"] = "eager"  # the grouped kernel takes no float64
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager", **extra).float().eval()
    randomize(model, seed)
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    model.save_pretrained(d, safe_serialization=True)
    for junk in ["generation_config.json"]:
        if os.path.exists(os.path.join(d, junk)):
            os.remove(os.path.join(d, junk))

    ids, mask = batch()
    out = {"input_ids": ids, "loss_mask": mask}
    model = model.double()
    with torch.no_grad():
        out["logits"] = model(ids).logits

    lcfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=targets,
                      init_lora_weights=False, task_type="CAUSAL_LM")
    torch.manual_seed(seed + 1)
    peft = get_peft_model(model, lcfg)
    peft.save_pretrained(os.path.join(d, "adapter"))
    os.remove(os.path.join(d, "adapter", "README.md"))
    logits = peft(ids).logits
    loss = masked_loss(logits, ids, mask)
    loss.backward()
    out["logits_lora"] = logits.detach()
    out["loss_lora"] = loss.detach().reshape(1)
    n = 0
    for pname, p in peft.named_parameters():
        if p.requires_grad:
            # PEFT's file names drop the adapter name ("default").
            key = pname.replace(".default", "")
            out["grad." + key] = p.grad.detach().clone()
            n += 1
    assert n > 0
    prompt = torch.tensor([[3, 14, 15, 9, 26]])
    # Dynamic rope keeps the longest length it has seen: start the generation as a fresh model
    # would (the engine's frequencies follow each sequence's own length).
    for m in peft.modules():
        if hasattr(m, "original_max_seq_len") and "dynamic" in str(getattr(m, "rope_type", "")):
            m.register_buffer("inv_freq", m.original_inv_freq.clone(), persistent=False)
            m.max_seq_len_cached = m.original_max_seq_len
    with torch.no_grad():
        gen = peft.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt),
                            max_new_tokens=8, min_new_tokens=8, do_sample=False,
                            pad_token_id=0, eos_token_id=None)
    out["prompt"] = prompt[0]
    out["greedy_lora"] = gen[0, prompt.shape[1]:]
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(d, "expected.safetensors"))
    print(f"{name}: {n} LoRA tensors, loss {loss.item():.6f}, greedy {out['greedy_lora'].tolist()}")


def make_nf4():
    """NF4 codes and block maxima by bitsandbytes (its CPU path), for a fixed Gaussian matrix."""
    import bitsandbytes.functional as bnbf
    g = torch.Generator().manual_seed(4)
    w = 0.02 * torch.randn((48, 80), generator=g)  # 60 blocks of 64
    codes, state = bnbf.quantize_4bit(w, blocksize=64, quant_type="nf4", compress_statistics=False)
    d = os.path.join(OUT, "nf4")
    os.makedirs(d, exist_ok=True)
    save_file({"weight": w, "codes": codes.flatten().contiguous(), "absmax": state.absmax.float()},
               os.path.join(d, "bitsandbytes.safetensors"))
    print(f"nf4: bitsandbytes codes for {codes.numel()} bytes")


def make_chatglm():
    """ChatGLM2/3 and the remote-code glm-4-9b layout (`ChatGLMModel`, model_type "chatglm"), which
    transformers cannot run without THUDM's code: the `glm` fixture's model with its weights renamed
    and q/k/v fused by this mapping (the inverse of transformers' GLM conversion), so the expected
    numbers are transformers' GLM model's own: base logits and greedy tokens (no adapter: PEFT would
    need THUDM's module names on a model it can build)."""
    src = os.path.join(OUT, "glm")
    model = AutoModelForCausalLM.from_pretrained(src, attn_implementation="eager").double().eval()
    c = model.config
    sd = load_file(os.path.join(src, "model.safetensors"))
    w = {"transformer.embedding.word_embeddings.weight": sd["model.embed_tokens.weight"],
         "transformer.encoder.final_layernorm.weight": sd["model.norm.weight"],
         "transformer.output_layer.weight": sd["lm_head.weight"]}
    for l in range(c.num_hidden_layers):
        s, t = f"model.layers.{l}", f"transformer.encoder.layers.{l}"
        w[f"{t}.input_layernorm.weight"] = sd[f"{s}.input_layernorm.weight"]
        w[f"{t}.post_attention_layernorm.weight"] = sd[f"{s}.post_attention_layernorm.weight"]
        for kind in ["weight", "bias"]:
            w[f"{t}.self_attention.query_key_value.{kind}"] = torch.cat(
                [sd[f"{s}.self_attn.{p}_proj.{kind}"] for p in "qkv"])
        w[f"{t}.self_attention.dense.weight"] = sd[f"{s}.self_attn.o_proj.weight"]
        w[f"{t}.mlp.dense_h_to_4h.weight"] = sd[f"{s}.mlp.gate_up_proj.weight"]  # gate rows first
        w[f"{t}.mlp.dense_4h_to_h.weight"] = sd[f"{s}.mlp.down_proj.weight"]
    d = os.path.join(OUT, "chatglm")
    os.makedirs(d, exist_ok=True)
    save_file({k: v.contiguous() for k, v in w.items()}, os.path.join(d, "model.safetensors"))
    config = {
        "architectures": ["ChatGLMModel"], "model_type": "chatglm",
        "num_layers": c.num_hidden_layers, "padded_vocab_size": c.vocab_size,
        "hidden_size": c.hidden_size, "ffn_hidden_size": c.intermediate_size,
        "kv_channels": c.head_dim, "num_attention_heads": c.num_attention_heads,
        "multi_query_attention": True, "multi_query_group_num": c.num_key_value_heads,
        "layernorm_epsilon": c.rms_norm_eps, "rmsnorm": True, "add_qkv_bias": True,
        "add_bias_linear": False, "apply_residual_connection_post_layernorm": False,
        "post_layer_norm": True, "original_rope": True,
        "rope_ratio": c.rope_parameters["rope_theta"] / 10000.0,
        "seq_length": c.max_position_embeddings, "tie_word_embeddings": False,
    }
    assert c.rope_parameters.get("partial_rotary_factor", 0.5) == 0.5 and not c.tie_word_embeddings
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    ids, mask = batch()
    prompt = torch.tensor([[3, 14, 15, 9, 26]])
    with torch.no_grad():
        logits = model(ids).logits
        gen = model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt),
                             max_new_tokens=8, min_new_tokens=8, do_sample=False,
                             pad_token_id=0, eos_token_id=None)
    save_file({"input_ids": ids, "logits": logits, "prompt": prompt[0],
               "greedy": gen[0, prompt.shape[1]:].contiguous()},
              os.path.join(d, "expected.safetensors"))
    print(f"chatglm: the glm fixture in THUDM's layout, greedy {gen[0, prompt.shape[1]:].tolist()}")


def verify(d):
    fixture = open(os.path.join(d, "fixture")).read().strip()
    extra = {"experts_implementation": "eager"} if fixture.endswith("_moe") or "deepseek" in fixture else {}
    base = AutoModelForCausalLM.from_pretrained(os.path.join(OUT, fixture),
                                                attn_implementation="eager", **extra).double().eval()
    model = PeftModel.from_pretrained(base, os.path.join(d, "adapter")).double().eval()
    want = load_file(os.path.join(d, "logits.safetensors"))
    ids = want["input_ids"].long()
    with torch.no_grad():
        got = model(ids).logits
    diff = (got - want["logits"].double()).abs().max().item()
    print(f"PEFT reproduces the engine's logits for {fixture} within {diff:.3e}")
    if not diff < 5e-6:  # transformers keeps rotary, norms and softmax in float32
        sys.exit(f"mismatch: {diff}")


if __name__ == "__main__":
    torch.set_num_threads(2)
    if len(sys.argv) == 3 and sys.argv[1] == "verify":
        verify(sys.argv[2])
    else:
        only = set(sys.argv[1:])
        for i, (name, (cfg, targets)) in enumerate(families().items()):
            if not only or name in only:
                make(name, cfg, targets, 1000 + i)
        if not only or "nf4" in only:
            make_nf4()
        if not only or "chatglm" in only:
            make_chatglm()
