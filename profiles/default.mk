# profiles/default.mk - what the Makefile needs to know of the default
# profile (sizes: profiles/default.h). All five families, TLS and the LLM
# stack.
FAMILIES := fleet rpg obs docs agents
WITH_LLM := 1
