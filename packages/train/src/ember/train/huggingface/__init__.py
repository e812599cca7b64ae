"""Hugging Face integrations: `ember.train.huggingface.transformers`."""
