"""What the LLM engines share: prompts, the answer schema, asking a model, grounding, reduce, local server.

prompt        the messages a model sees (texts in prompts/llm/)
schema        the JSON schema derived from a template, and local checks of answers
request       a chat request and its cache key
budget        each call's output limit, from what it asks for (the template's sections …)
transport     the run's deadline, waits between tries, tokens received (no openai import)
client        one request to an OpenAI-compatible server: cache, streaming, retries, formats, errors
ask           one question: send, check, ask again, count the cost (`Asker`)
ground        answers to findings: citations resolved against the sentences shown
reduce        condensing a section with too many candidates, in capped rounds
pairs         the question about sentence pairs that could disagree (where sources differ)
planning      the calls a run would make, for --dry-run; prices the price table
local_server  llama.cpp in process (xllamacpp) on 127.0.0.1

Whether an answer's items stand (support, the two-source rule) is decided in
`briefer.verify`, as for every engine. Importing this package does not import
openai; `client` does.
"""
