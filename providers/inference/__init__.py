"""Adapters built on huggingface_hub's InferenceClient: the shared streaming base,
the client pool and error reading, and the OpenAI-compatible server adapter."""
