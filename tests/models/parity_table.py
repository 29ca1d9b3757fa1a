"""Print the measured parity of every family as a Markdown table (quoted in docs/models.md).

Run from the repository root:

    python tests/models/parity_table.py

Same tiny random checkpoints and padded inputs as the tests; float32 kexue vs the reference.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch
import transformers
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kexue.models import build_transformer_model  # noqa: E402
from tests.models._hf import max_diff, padded_batch, randomize  # noqa: E402

GOLDEN = Path(__file__).parent / "golden"
BERT = dict(
    vocab_size=71,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=48,
    max_position_embeddings=40,
    type_vocab_size=2,
)


def _save(hf, tmp: Path, name: str) -> Path:
    randomize(hf)
    hf.tie_weights()
    hf.eval().save_pretrained(str(tmp / name))
    return tmp / name


def rows(tmp: Path):
    torch.manual_seed(0)
    ids, mask = padded_batch(71, [9, 5, 7])
    seg = (torch.arange(9) >= 3).long().expand(3, 9) * mask
    real = mask.bool()
    with torch.no_grad():
        hf = transformers.BertForPreTraining(transformers.BertConfig(**BERT))
        d = _save(hf, tmp, "bert")
        ref = hf(input_ids=ids, token_type_ids=seg, attention_mask=mask)
        out = build_transformer_model(checkpoint_path=d, with_mlm=True, with_nsp=True)(
            ids, seg, attention_mask=mask
        )
        yield (
            "BertModel",
            "hidden (all positions)",
            max_diff(
                out.hidden, hf.bert(input_ids=ids, token_type_ids=seg, attention_mask=mask)[0]
            ),
        )
        yield "BertForPreTraining", "MLM logits", max_diff(out.mlm_logits, ref.prediction_logits)
        yield (
            "BertForPreTraining",
            "NSP logits",
            max_diff(out.nsp_logits, ref.seq_relationship_logits),
        )
        mlm = transformers.BertForMaskedLM(hf.config)
        mlm.bert.load_state_dict(hf.bert.state_dict(), strict=False)
        mlm.cls.predictions.load_state_dict(hf.cls.predictions.state_dict())
        mlm.tie_weights()
        mlm.eval().save_pretrained(str(tmp / "mlm"))
        idx = seg.cumsum(1)
        m4 = ((idx[:, None, :] <= idx[:, :, None]) & real[:, None, :])[:, None]
        uni = build_transformer_model(checkpoint_path=tmp / "mlm", application="unilm")
        yield (
            "BertForMaskedLM + UniLM 4-D mask",
            "logits (real tokens)",
            max_diff(
                uni(ids, seg, attention_mask=mask)[real],
                mlm(input_ids=ids, token_type_ids=seg, attention_mask=m4).logits[real],
            ),
        )

        rf = transformers.RoFormerModel(transformers.RoFormerConfig(**{**BERT, "vocab_size": 71}))
        randomize(rf)
        rf.encoder.embed_positions.weight.copy_(rf.encoder.embed_positions.create_weight())
        rf.eval().save_pretrained(str(tmp / "rf"))
        yield (
            "RoFormerModel",
            "hidden (all positions)",
            max_diff(
                build_transformer_model(checkpoint_path=tmp / "rf", model="roformer")(
                    ids, seg, attention_mask=mask
                ),
                rf(input_ids=ids, token_type_ids=seg, attention_mask=mask).last_hidden_state,
            ),
        )

        g = transformers.GPT2LMHeadModel(
            transformers.GPT2Config(
                vocab_size=71,
                n_embd=32,
                n_layer=2,
                n_head=4,
                n_positions=64,
                bos_token_id=0,
                eos_token_id=0,
            )
        )
        d = _save(g, tmp, "gpt2")
        lids, lmask = padded_batch(71, [9, 5, 7], left=True)
        pos = (lmask.cumsum(1) - 1).clamp(min=0)
        lreal = lmask.bool()
        ref = g(input_ids=lids, attention_mask=lmask, position_ids=pos)
        out = build_transformer_model(checkpoint_path=d, model="gpt2", application="lm")
        yield (
            "GPT2LMHeadModel (left padding)",
            "logits (real tokens)",
            max_diff(out(lids, attention_mask=lmask, position_ids=pos)[lreal], ref.logits[lreal]),
        )
        enc = build_transformer_model(checkpoint_path=d, model="gpt2", application="encoder")
        yield (
            "GPT2Model (left padding)",
            "hidden (real tokens)",
            max_diff(
                enc(lids, attention_mask=lmask, position_ids=pos)[lreal],
                g.transformer(input_ids=lids, attention_mask=lmask, position_ids=pos)[0][lreal],
            ),
        )

        t5cfg = dict(
            vocab_size=71,
            d_model=32,
            d_kv=8,
            d_ff=48,
            num_layers=2,
            num_decoder_layers=3,
            num_heads=4,
            relative_attention_num_buckets=8,
            relative_attention_max_distance=16,
            feed_forward_proj="gated-gelu",
            decoder_start_token_id=0,
        )
        t5 = transformers.T5Model(transformers.T5Config(**t5cfg, tie_word_embeddings=False))
        d = _save(t5, tmp, "t5")
        dec = torch.randint(1, 71, (3, 6))
        ref = t5(input_ids=ids, attention_mask=mask, decoder_input_ids=dec)
        k = build_transformer_model(checkpoint_path=d, model="t5", with_lm=False)
        e = k.encode(ids, mask)
        yield (
            "T5Model (t5.1.1, gated-gelu)",
            "encoder hidden (real tokens)",
            max_diff(e[real], ref.encoder_last_hidden_state[real]),
        )
        yield (
            "T5Model (t5.1.1, gated-gelu)",
            "decoder hidden",
            max_diff(k.decode(dec, e, encoder_mask=mask), ref.last_hidden_state),
        )

    for name, model_name, kw, outs in [
        ("nezha", "nezha", dict(with_pool=True), [("hidden", "last_hidden_state")]),
        ("nezha_mlm", "nezha", dict(with_mlm=True), [("mlm_logits", "logits")]),
        ("gpt2_ml", "gpt2_ml", dict(application="lm"), [(None, "logits")]),
        (
            "realformer",
            "bert",
            dict(residual_attention_scores=True, with_pool=True),
            [("hidden", "last_hidden_state"), ("pooled", "pooler_output")],
        ),
    ]:
        io = load_file(str(GOLDEN / name / "io.safetensors"))
        model = build_transformer_model(checkpoint_path=GOLDEN / name, model=model_name, **kw)
        args = [io["token_ids"]] + ([io["segment_ids"]] if "segment_ids" in io else [])
        with torch.no_grad():
            out = model(*args, attention_mask=io["attention_mask"])
        for attr, key in outs:
            got = out if attr is None else getattr(out, attr)
            yield f"golden/{name} (float64)", key, max_diff(got, io[key])


def main() -> int:
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, float32\n")
    print("| reference | output | max abs diff |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for ref, what, diff in rows(Path(tmp)):
            print(f"| {ref} | {what} | {diff:.2e} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
