# profiles/server.mk - what the Makefile needs to know of the server profile
# (sizes: profiles/server.h). All five families, TLS and the LLM stack.
FAMILIES := fleet rpg obs docs agents
WITH_LLM := 1
