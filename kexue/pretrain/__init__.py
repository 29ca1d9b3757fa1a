"""kexue.pretrain: MLM / whole-word MLM / NSP / UniLM / causal-LM pretraining."""
