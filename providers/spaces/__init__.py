"""Gradio Spaces through the official gradio_client: the shared Space mechanism,
the Phi-4 multimodal chat and the FLUX image Spaces."""
