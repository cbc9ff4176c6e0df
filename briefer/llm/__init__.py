"""What the LLM engines share: prompts, the answer schema, the chat client, grounding, reduce, local server.

prompt        the messages a model sees (texts in prompts/llm/)
schema        the JSON schema derived from a template, and local checks of answers
request       a chat request and its cache key
client        one request to an OpenAI-compatible server: cache, response formats, errors
ground        answers to findings: citations resolved, unsupported items flagged
support       the support check itself (content-word overlap, names)
reduce        condensing a section with too many candidates, in capped rounds
local_server  llama.cpp in process (xllamacpp) on 127.0.0.1
plan          --dry-run: calls, tokens and estimated cost

Importing this package does not import openai; `client` does.
"""
