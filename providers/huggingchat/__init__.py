"""HuggingChat (the chat-ui protocol): the adapter, its HTTP session and its answer stream."""
