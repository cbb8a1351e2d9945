"""Language-model backends behind LangChain's chat-model interface: the local default and OpenAI-compatible."""
