"""The Gradio app: tabs, public API endpoints and their wiring."""
