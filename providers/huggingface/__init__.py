"""Hugging Face inference: the router and self-hosted servers (TGI), model catalogs,
URL layouts and raw-prompt formats."""
