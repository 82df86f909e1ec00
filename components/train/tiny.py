"""A tiny, randomly initialised FLUX.1 Fill pipeline built in code (tokenizers too), for the `smoke` profile.

Same architectures and file formats as FLUX.1 Fill dev (FluxTransformer2DModel fill variant, AutoencoderKL,
CLIP and T5 text encoders), only small: it proves the whole training path on a CPU in seconds.
"""

from __future__ import annotations

import string

from components.train.params import TinyModelParams

_CHARS = list(string.ascii_lowercase + string.digits + ".,;:-'[]()")


def tiny_clip_tokenizer():
    """A character-level CLIP BPE tokenizer (no merges) built without files."""
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in _CHARS:
        vocab.setdefault(c, len(vocab))
        vocab.setdefault(c + "</w>", len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def tiny_t5_tokenizer():
    """A character-level T5 unigram tokenizer built without files."""
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -1.0)]
    pieces += [(c, -2.0) for c in _CHARS] + [("\u2581" + c, -1.5) for c in _CHARS]
    return T5Tokenizer(vocab=pieces, extra_ids=0)


def fill_in_channels(latent_channels: int, vae_scale_factor: int) -> int:
    """Input channels of a FLUX Fill transformer: packed noisy latents + packed masked latents + packed mask."""
    packed = 4 * latent_channels  # 2x2 patches
    return 2 * packed + 4 * vae_scale_factor**2


def build_tiny_fill_pipeline(spec: TinyModelParams):
    """A FluxFillPipeline with random weights of the sizes in `spec` (seeded, so builds are repeatable)."""
    import torch
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxFillPipeline, FluxTransformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    # Character-level tokenizers truncate every prompt: the warnings say nothing about a tiny smoke model.
    transformers_logging.set_verbosity_error()
    diffusers_logging.set_verbosity_error()
    clip_tok, t5_tok = tiny_clip_tokenizer(), tiny_t5_tokenizer()
    torch.manual_seed(spec.seed)
    levels = len(spec.vae_block_out_channels)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * levels,
        up_block_types=("UpDecoderBlock2D",) * levels,
        block_out_channels=tuple(spec.vae_block_out_channels),
        layers_per_block=1,
        latent_channels=spec.vae_latent_channels,
        norm_num_groups=min(spec.vae_block_out_channels),
        sample_size=64,
        scaling_factor=0.3611,  # FLUX.1's VAE constants
        shift_factor=0.1159,
        use_quant_conv=False,
        use_post_quant_conv=False,
    )
    scale = 2 ** (levels - 1)
    head = spec.attention_head_dim
    rope = (head - 2 * (3 * head // 8), 3 * head // 8, 3 * head // 8)
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=fill_in_channels(spec.vae_latent_channels, scale),
        out_channels=4 * spec.vae_latent_channels,
        num_layers=spec.num_layers,
        num_single_layers=spec.num_single_layers,
        attention_head_dim=head,
        num_attention_heads=spec.num_attention_heads,
        joint_attention_dim=spec.joint_attention_dim,
        pooled_projection_dim=spec.pooled_projection_dim,
        guidance_embeds=True,
        axes_dims_rope=rope,
    )
    clip = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(clip_tok),
            hidden_size=spec.pooled_projection_dim,
            intermediate_size=2 * spec.pooled_projection_dim,
            num_hidden_layers=1,
            num_attention_heads=2,
            max_position_embeddings=77,
            projection_dim=spec.pooled_projection_dim,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        )
    )
    t5 = T5EncoderModel(
        T5Config(
            vocab_size=len(t5_tok),
            d_model=spec.joint_attention_dim,
            d_kv=8,
            d_ff=2 * spec.joint_attention_dim,
            num_layers=1,
            num_heads=2,
            decoder_start_token_id=0,
            pad_token_id=0,
            eos_token_id=1,
        )
    )
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=1.0, use_dynamic_shifting=True, base_image_seq_len=256, max_image_seq_len=4096
    )
    return FluxFillPipeline(
        scheduler=scheduler,
        vae=vae.eval(),
        text_encoder=clip.eval(),
        tokenizer=clip_tok,
        text_encoder_2=t5.eval(),
        tokenizer_2=t5_tok,
        transformer=transformer,
    )
