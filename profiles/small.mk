# profiles/small.mk - what the Makefile needs to know of the small profile
# (sizes: profiles/small.h). observability, documents and agents only; no
# LLM stack, so curl, c-ares and mbedtls are neither compiled nor linked, and
# the fleet and rpg sources are not built.
FAMILIES := obs docs agents
WITH_LLM := 0
