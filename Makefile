# roost - build rules. One target per port: make PORT=linux (default).
#
#   make            build/roostd, the release flavour (-O2 -g, NDEBUG)
#   make debug      build/debug/roostd: -O1 -g, asserts on, fault injection
#                   compiled in (CFG_FAULT=1, the /_fault control channel)
#   make unit       unit tests (tiny pools), run
#   make integration  real binary over loopback (pytest), epoll loop
#   make integration-poll  the same suite against the poll loop (LOOP=poll)
#   make integration-small  the small profile's suites (build/small/roostd)
#   make check-lwip the lwIP port (PORT=lwip PROFILE=small) over TAP devices
#                   in a network namespace: its test and the small suites
#   make check-plan every profile's --budget against its binary (size)
#   make asan       unit + integration again under ASan+UBSan
#   make misra      cppcheck --addon=misra over src/ and port/
#   make check-layers  includes point down, only fam/ names a family
#   make check-aarch64  ARCH=aarch64 build, unit suite and a smoke test under
#                   qemu-aarch64 (tests/port/test_aarch64.py)
#   make fuzz-smoke libFuzzer targets, briefly
#   make fault-short  the fault suite (tests/fault) on build/debug/roostd,
#                   a short loop (part of make check)
#   make fault-long the same suite looping for FAULT_SECONDS
#   make check      everything CI runs (see .ci/run)
#   make bench      measurements (bench/README.md): wrk runs, /ws flood, chat soak
#   make bench-sha256 MB/s of SHA-256, portable C and the x86 SHA extensions
#   make bench-peers roostd beside nginx, the ceiling and BEFORE=old/roostd if
#                   given: one table of issue 12's measures (bench/peers.sh)
#   make soak       long campaigns: SOAK_ROUNDS rounds of 200 concurrent chat
#                   streams under the malloc shim (bench/chat_soak.py), then
#                   30 minutes of fuzzing
#
# Variables: PROFILE (default|server|small, see profiles/), LOOP (epoll|poll:
# the loop's readiness backend), BUILD (output dir), FLAVOUR (release|debug),
# SAN=1 (sanitizers, implies debug), CC, ARCH (native|aarch64, see below).

PORT   ?= linux
# A profile is profiles/<name>.h (sizes, read by config.h) and
# profiles/<name>.mk (what the build needs: FAMILIES, WITH_LLM), as BearSSL's
# conf/*.mk. The default profile builds into build/, the others into
# build/<profile>/, so they coexist.
PROFILE ?= default
ifeq ($(wildcard profiles/$(PROFILE).mk),)
$(error PROFILE=$(PROFILE): no profiles/$(PROFILE).mk (default, server, small))
endif
include profiles/$(PROFILE).mk
# ARCH: the machine roostd is built for. native (default) is this machine's
# own compiler; aarch64 cross-builds with Debian's aarch64-linux-gnu-gcc into
# build/aarch64/ (build/aarch64/<profile>/ for another profile), the vendor
# libraries included (build/aarch64/vendor), linked statically so that it
# runs on any arm64 Linux (a Raspberry Pi) or under qemu-aarch64 without a
# sysroot. `make check-aarch64` builds it and runs the unit suite and a
# smoke test under qemu-aarch64.
ARCH   ?= native
ifeq ($(ARCH),aarch64)
CROSS  := aarch64-linux-gnu-
CC     := $(CROSS)gcc
ifeq ($(PROFILE),default)
BUILD  ?= build/aarch64
else
BUILD  ?= build/aarch64/$(PROFILE)
endif
VENDOR_OUT  := build/aarch64/vendor
VENDOR_HOST := aarch64-linux-gnu
EXTRA_LDFLAGS += -static
# Binaries of this build run under qemu-user, called explicitly (binfmt may
# not be registered); -L for anything that looks for the target's files.
RUNNER := qemu-aarch64 -L /usr/aarch64-linux-gnu
else ifneq ($(ARCH),native)
$(error ARCH=$(ARCH): native or aarch64)
endif
# PORT=cortexm: a Cortex-M4F board without an OS (port/cortexm/README),
# arm-none-eabi-gcc and newlib, the small profile only, into build/cortexm:
# build/cortexm/roostd is the firmware image (ELF), `make PORT=cortexm
# PROFILE=small size` prints its flash and static RAM and fails above the
# board's 1 MiB and 512 KiB. No unit tests or integration for this port.
ifeq ($(PORT),cortexm)
ifneq ($(PROFILE),small)
$(error PORT=cortexm builds PROFILE=small only (512 KiB of RAM))
endif
CROSS  := arm-none-eabi-
CC     := $(CROSS)gcc
BUILD  ?= build/cortexm
VENDOR_OUT := build/cortexm/vendor
OPT    ?= -Os -g
# newlib defines its 64-bit PRI* macros (inttypes.h) only when it sees
# __int64_t_defined, which its stdint.h leaves out in strict ISO C mode;
# int64_t is long long there, as the macro's "ll" says.
CORTEXM_CPU := -mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard
EXTRA_CFLAGS += $(CORTEXM_CPU) -ffunction-sections -fdata-sections -D__int64_t_defined=1
# The board holds sqlite's WAL index in RAM (32 KiB, port/cortexm/vfs.c),
# which Linux maps outside the plan; sqlite's heap gives 12 KiB of it back
# (184 KiB: the 189,888 B high water was measured on 64-bit Linux, where
# sqlite's structures are pointer-heavy; not yet measured on a board).
EXTRA_CFLAGS += -DCFG_SQLITE_HEAP_BYTES='(184u*1024u)'
EXTRA_LDFLAGS += $(CORTEXM_CPU) -T port/cortexm/cortexm.ld -specs=nosys.specs \
                 -Wl,--gc-sections -Wl,-Map=build/cortexm/roostd.map
# sqlite without os_unix.c: the port's VFS (port/cortexm/vfs.c)
SQLITE3_PORT_DEFS := -DSQLITE_OS_OTHER=1
endif
AR     := $(CROSS)ar
NM     := $(CROSS)nm
LOOP   ?= epoll
LOOP_CFLAGS := -DPORT_LOOP_POLL=$(if $(filter poll,$(LOOP)),1,0)
ifeq ($(PORT),lwip)
# The lwIP port (port/lwip, `make PORT=lwip PROFILE=small`): lwIP's sockets
# and lwip_poll; files, clocks, entropy and signals are port/linux's.
LOOP_CFLAGS := -DPORT_LOOP_POLL=0 -DPORT_LWIP=1
BUILD  ?= build/lwip
else ifeq ($(LOOP),poll)
BUILD  ?= build/poll
else ifeq ($(PROFILE),default)
BUILD  ?= build
else
BUILD  ?= build/$(PROFILE)
endif
CC     ?= cc
PYTHON ?= /usr/bin/python3

WARN    := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror \
           -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wundef
# Two flavours of roostd. release (make, integration, the profiles'
# builds): -O2 with NDEBUG, so ASSERT is compiled out and NEVER/ALWAYS take
# their safe branch (logged and counted, core/assert.h); -g keeps symbols.
# debug (make debug, the sanitizer build, the fault suite): asserts abort
# and fault injection is compiled in (CFG_FAULT, core/fault.h). Unit tests
# are always debug.
FLAVOUR ?= release
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ifeq ($(SAN),1)
FLAVOUR := debug
EXTRA_CFLAGS += $(SANFLAGS)
EXTRA_LDFLAGS += $(SANFLAGS)
endif
DEBUG_CFLAGS := -DCFG_FAULT=1
ifeq ($(FLAVOUR),release)
OPT     ?= -O2 -g
FLAVOUR_CFLAGS := -DNDEBUG -DCFG_FAULT=0
else ifeq ($(FLAVOUR),debug)
OPT     ?= -O1 -g
FLAVOUR_CFLAGS := $(DEBUG_CFLAGS)
else
$(error FLAVOUR=$(FLAVOUR): release or debug)
endif
VENDOR_DIR := build/vendor
VENDOR_OUT ?= $(VENDOR_DIR)
INCS    := -I. -Isrc -Iport -I$(VENDOR_DIR)/include
# Families and the LLM stack are chosen at compile time: the C side sees
# CFG_FAM_<F> and CFG_WITH_LLM, and code that is not built is not linked.
fam_flag = -DCFG_FAM_$(1)=$(if $(filter $(2),$(FAMILIES)),1,0)
PROFILE_CFLAGS := -DROOST_PROFILE_HEADER='"profiles/$(PROFILE).h"' $(LOOP_CFLAGS) \
                  $(call fam_flag,FLEET,fleet) $(call fam_flag,RPG,rpg) \
                  $(call fam_flag,OBS,obs) $(call fam_flag,DOCS,docs) \
                  $(call fam_flag,AGENTS,agents) -DCFG_WITH_LLM=$(WITH_LLM)
CFLAGS  := $(WARN) $(OPT) $(FLAVOUR_CFLAGS) $(INCS) $(PROFILE_CFLAGS) $(EXTRA_CFLAGS)
PORT_CFLAGS := -D_GNU_SOURCE
LDFLAGS := $(EXTRA_LDFLAGS)
LDLIBS  := -lm

ALL_SRC  := $(sort $(wildcard src/*/*.c src/fam/*/*.c))
# A family's desc.c (its descriptor: name, keys, schema steps) is built in
# every profile, the rest of its folder only when it is in FAMILIES.
SRC      := $(sort $(wildcard src/*/*.c src/fam/shared/*.c src/fam/*/desc.c) \
                   $(foreach f,$(FAMILIES),$(wildcard src/fam/$(f)/*.c)))
ifneq ($(WITH_LLM),1)
SRC      := $(filter-out src/out/% src/engine/% src/net/tls%,$(SRC))
endif
# The loop's readiness backend (port/<port>/loop_<LOOP>.c, LOOP above).
ifeq ($(PORT),lwip)
# port/linux's host-only files (no sockets, no loop, no children) beside
# port/lwip's own and port/none's (no child processes, no blocking client);
# lwIP itself is vendor/lwip.mk's.
PORT_SRC := $(sort $(wildcard port/lwip/*.c port/none/*.c) $(addprefix port/linux/,port.c os.c port_file.c \
                   port_proc.c port_comm.c port_cli.c))
else
PORT_SRC := $(sort $(filter-out port/$(PORT)/loop_%.c,$(wildcard port/$(PORT)/*.c)) \
                   port/$(PORT)/loop_$(LOOP).c)
endif
MAIN_SRC := port/$(PORT)/main.c
ifeq ($(PORT),cortexm)
# No loop backends to choose from; startup.c has main; port/none has the
# child processes and the blocking client a board does not have.
PORT_SRC := $(sort $(wildcard port/cortexm/*.c port/none/*.c))
MAIN_SRC := port/cortexm/startup.c
endif
LIB_SRC  := $(SRC) $(filter-out $(MAIN_SRC),$(PORT_SRC))

OBJ      := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC))
MAIN_OBJ := $(BUILD)/obj/$(MAIN_SRC:.c=.o)

.PHONY: unit-bin check-ports check-lwip check-aarch64 size all install uninstall debug fault-short fault-long clean unit integration integration-poll integration-small integration-server check-plan asan misra fuzz fuzz-smoke check check-os-headers check-layers bench-heap bench-peers bench-sha256 \
        bench vendor deps soak
# Objects are not intermediates: keep them between runs.
.SECONDARY:

all: $(BUILD)/roostd

debug:
	$(MAKE) BUILD=build/debug FLAVOUR=debug all

include vendor/vendor.mk

# Without the LLM stack, curl, c-ares and mbedtls are neither built nor linked.
ifeq ($(WITH_LLM),1)
ROOSTD_VENDOR := $(VENDOR_OBJS)
else
ROOSTD_VENDOR := $(filter-out $(VENDOR_LIBS),$(VENDOR_OBJS))
endif

ifeq ($(PORT),lwip)
ROOSTD_VENDOR += $(LWIP_OBJS)
PORT_CFLAGS += $(LWIP_INCS)
endif

# Prerequisites are made in the order listed: the vendor libraries first,
# so that under -j their serial configure runs (c-ares, then curl) overlap
# the compiles of src/ and sqlite rather than wait for them (the critical
# path of a cold build, CI's every time). The link keeps its own order.
VENDOR_FIRST := $(filter $(VENDOR_OUT)/lib/libcares.a $(VENDOR_OUT)/lib/libmbedcrypto.a \
                  $(VENDOR_OUT)/lib/libcurl.a,$(ROOSTD_VENDOR))
$(BUILD)/roostd: $(VENDOR_FIRST) $(OBJ) $(MAIN_OBJ) $(ROOSTD_VENDOR)
	$(CC) $(LDFLAGS) -o $@ $(OBJ) $(MAIN_OBJ) $(ROOSTD_VENDOR) $(LDLIBS)

# The profile's flags are part of every object: a changed .mk rebuilds, and
# so does a change of the compiler flags (a flavour built into an existing
# BUILD directory): $(BUILD)/cflags holds them and is rewritten only when
# they differ.
CFLAGS_STAMP := $(BUILD)/cflags
PROFILE_DEPS := config.h profiles/$(PROFILE).h profiles/$(PROFILE).mk $(CFLAGS_STAMP)

$(BUILD)/obj/port/%.o: port/%.c $(PROFILE_DEPS) | vendor-headers
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PORT_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/obj/src/%.o: src/%.c $(PROFILE_DEPS) | vendor-headers
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# ---- unit tests: every module rebuilt with tiny pools ---------------------
# Unit tests build every module (all families, whatever PROFILE says) with
# tiny_config.h and no profile: tiny pools over config.h's defaults.
UNIT_CFG    := -DROOST_CONFIG_OVERRIDE='"tests/unit/tiny_config.h"'
UNIT_OPT    := $(if $(filter 1,$(SAN)),-O1 -g,-O2 -g)
UNIT_CFLAGS := $(WARN) $(UNIT_OPT) $(DEBUG_CFLAGS) $(INCS) $(EXTRA_CFLAGS) $(UNIT_CFG) $(LOOP_CFLAGS)
# The flags stamp (see PROFILE_DEPS) covers the unit tests' flags too.
CFLAGS_NOW = $(strip $(CC) $(CFLAGS) $(LDFLAGS) $(UNIT_CFLAGS))
ifneq ($(strip $(file <$(CFLAGS_STAMP))),$(CFLAGS_NOW))
$(shell mkdir -p $(BUILD))
$(file >$(CFLAGS_STAMP),$(CFLAGS_NOW))
endif
UNIT_SRC    := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN    := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRC))
UNIT_OBJ    := $(patsubst %.c,$(BUILD)/unit/obj/%.o, \
                 $(ALL_SRC) $(filter-out $(MAIN_SRC),$(PORT_SRC)) tests/unit/t.c)

$(BUILD)/unit/obj/port/%.o: port/%.c config.h tests/unit/tiny_config.h $(CFLAGS_STAMP) | vendor-headers
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) $(PORT_CFLAGS) -MMD -MP -c -o $@ $<
$(BUILD)/unit/obj/%.o: %.c config.h tests/unit/tiny_config.h $(CFLAGS_STAMP) | vendor-headers
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -MMD -MP -c -o $@ $<
$(BUILD)/unit/test_%: $(BUILD)/unit/obj/tests/unit/test_%.o $(UNIT_OBJ) $(VENDOR_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

unit-bin: $(UNIT_BIN)

unit: $(UNIT_BIN)
	@$(PYTHON) tools/run_unit.py $(if $(RUNNER),--runner '$(RUNNER)') $(UNIT_BIN)

# ---- integration: the real binary over loopback ---------------------------
SHIM := $(BUILD)/shim/countmalloc.so
$(SHIM): tests/shim/countmalloc.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -fPIC -shared -o $@ $< -ldl

# Test tools (not part of roostd): llm_fetch drives the vendored HTTPS stack
# (libcurl + c-ares + mbedtls on out_mem's heaps) for test_vendor_tls.py.
LLM_FETCH_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,src/out/mem.c src/net/tls_mem.c src/core/heap.c src/core/fault.c src/core/assert.c \
                   src/core/status.c port/$(PORT)/port.c port/$(PORT)/os.c \
                   port/$(PORT)/loop_$(LOOP).c)
$(BUILD)/tools/llm_fetch: tests/tools/llm_fetch.c $(LLM_FETCH_OBJ) $(VENDOR_OBJS) | vendor-headers
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PORT_CFLAGS) $(LDFLAGS) -o $@ $< $(LLM_FETCH_OBJ) $(VENDOR_LIBS) $(LDLIBS)

# llm_call drives roost's own engine (src/out/llm) through the real loop,
# for test_llm_engine.py: the whole library, no main.
$(BUILD)/tools/llm_call: tests/tools/llm_call.c $(OBJ) $(VENDOR_OBJS) | vendor-headers
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PORT_CFLAGS) $(LDFLAGS) -o $@ $< $(OBJ) $(VENDOR_OBJS) $(LDLIBS)

# The LLM test tools exist only where the profile builds the LLM stack (the
# tests that use them are deselected elsewhere).
ifeq ($(WITH_LLM),1)
LLM_TOOLS := $(BUILD)/tools/llm_fetch $(BUILD)/tools/llm_call
LLM_TOOLS_ENV := ROOST_LLM_FETCH=$(abspath $(BUILD)/tools/llm_fetch) \
                 ROOST_LLM_CALL=$(abspath $(BUILD)/tools/llm_call)
endif
integration: $(BUILD)/roostd $(SHIM) $(LLM_TOOLS)
	ROOSTD=$(abspath $(BUILD)/roostd) ROOST_SHIM=$(abspath $(SHIM)) $(LLM_TOOLS_ENV) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

# ---- profiles: the plan of every profile, the small profile's suites ------
# check-plan builds the server and small profiles beside this one and checks
# each plan against its binary (tests/integration/test_plan.py).
# integration-small runs the whole suite against build/small/roostd: what
# needs fleet, rpg or the LLM stack (NEEDS, @pytest.mark.needs) or a larger
# limit (@pytest.mark.needs_limit) is deselected by conftest.py and listed
# at the end; the observability, chassis, no-heap and one-thread suites run.
# integration-server runs the memory and thread properties (no heap after
# init, one thread, lent buffers) against build/server/roostd.
check-plan: $(BUILD)/roostd
	$(MAKE) PROFILE=server all
	$(MAKE) PROFILE=small all
	ROOSTD=$(abspath $(BUILD)/roostd) $(PYTHON) -m pytest -q -p no:cacheprovider \
	  tests/integration/test_plan.py

SERVER_SUITES := test_no_heap.py test_threads.py test_lent_buffers.py test_plan.py
integration-server: $(SHIM)
	$(MAKE) PROFILE=server all
	ROOSTD=$(abspath build/server/roostd) ROOST_SHIM=$(abspath $(SHIM)) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider $(addprefix tests/integration/,$(SERVER_SUITES))

# integration-poll runs the suites that drive the loop against the poll
# backend (build/poll/roostd, LOOP=poll): HTTP, WebSocket and SSE framing,
# backpressure, lent buffers and their waits, limits, start and stop, the
# heap and thread properties, outbound LLM sockets (chat) and child
# processes' pipes (rpg hooks). The families' logic above the loop is the
# same code on both and runs in `integration` (epoll), so running all of it
# twice bought nothing but five minutes. POLL_SUITES=all runs everything.
POLL_SUITES ?= test_http.py test_http_conformance.py test_ws_conformance.py \
               test_ws_backpressure.py test_lent_buffers.py test_limits.py test_startup.py \
               test_health.py test_cors.py test_no_heap.py test_threads.py test_crash.py \
               test_chat.py test_obs_ws.py test_fleet_ws.py test_rpg_hooks.py \
               test_documents_files.py
POLL_PATHS = $(if $(filter all,$(POLL_SUITES)),tests/integration,$(addprefix tests/integration/,$(POLL_SUITES)))
integration-poll: $(SHIM) $(LLM_TOOLS)
	$(MAKE) LOOP=poll all
	ROOSTD=$(abspath build/poll/roostd) ROOST_SHIM=$(abspath $(SHIM)) $(LLM_TOOLS_ENV) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider $(POLL_PATHS)

integration-small: $(SHIM)
	$(MAKE) PROFILE=small all
	ROOSTD=$(abspath build/small/roostd) ROOST_SHIM=$(abspath $(SHIM)) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

# check-lwip: the lwIP port (make PORT=lwip PROFILE=small, build/lwip/roostd)
# for real: in a network namespace of its own (unshare -n, root) with TAP
# devices (tests/port/lwip_ns.sh), tests/port/test_lwip.py and the small
# profile's integration suites, every client talking to lwIP's 192.168.7.2.
# What the port cannot pass is deselected by conftest.py (LWIP_DESELECT)
# and listed at the end. check runs it (check-ports).
check-lwip: $(SHIM)
	$(MAKE) PORT=lwip PROFILE=small all
	unshare -n tests/port/lwip_ns.sh env ROOST_SHIM=$(abspath $(SHIM)) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider tests/port/test_lwip.py tests/integration

asan:
	$(MAKE) BUILD=build/asan SAN=1 all unit build/asan/tools/llm_fetch build/asan/tools/llm_call
	ROOSTD=$(abspath build/asan/roostd) ROOST_SANITIZED=1 \
	  ROOST_LLM_FETCH=$(abspath build/asan/tools/llm_fetch) \
	  ROOST_LLM_CALL=$(abspath build/asan/tools/llm_call) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

# ---- other machines: the aarch64 cross build under qemu-user --------------
# check-aarch64 builds roostd and the unit tests with ARCH=aarch64 (into
# build/aarch64, vendor libraries in build/aarch64/vendor), runs the unit
# suite under qemu-aarch64, then tests/port/test_aarch64.py: the binary
# under qemu-aarch64 answers /health on every family, fleet CRUD, an
# observability event over /ws, and exits 0 on SIGTERM. (The one-thread
# property is not checked there: qemu-user adds threads of its own.)
check-aarch64:
	$(MAKE) ARCH=aarch64 all unit
	ROOSTD_AARCH64=$(abspath build/aarch64/roostd) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider tests/port/test_aarch64.py

# The board's budget: flash is .text + .rodata + .data (its initial values
# live in flash), static RAM .data + .bss (arm-none-eabi-size -A).
CORTEXM_FLASH := 1048576
CORTEXM_RAM   := 524288
size: $(BUILD)/roostd
	$(CROSS)size $<
	@$(CROSS)size -A $< | awk -v fmax=$(CORTEXM_FLASH) -v rmax=$(CORTEXM_RAM) ' \
	  $$1 ~ /^\.(text|rodata|ARM\.exidx|ARM\.extab|isr_vector|init_array|fini_array|preinit_array)$$/ { flash += $$2 } \
	  $$1 == ".data" { flash += $$2; ram += $$2 } \
	  $$1 == ".bss" { ram += $$2 } \
	  END { printf "flash %d of %d bytes, static RAM %d of %d bytes\n", flash, fmax, ram, rmax; \
	        if (flash > fmax || ram > rmax) { print "size: over the board budget"; exit 1 } }'

# ---- static checks ---------------------------------------------------------
check-os-headers:
	@tools/check_os_headers.sh

# includes point down the layers, only fam/ names a family (tools/check_layers.py)
check-layers:
	@$(PYTHON) tools/check_layers.py --self-test
	@$(PYTHON) tools/check_layers.py

misra: vendor-headers
	@tools/misra.sh

# ---- fuzzing (clang + libFuzzer) -------------------------------------------
# Each target lists the sources it links; every target also builds as
# <target>-replay, which runs single files (a crash reproducer) without libFuzzer.
FUZZ_CC      ?= clang
FUZZ_TARGETS := $(patsubst fuzz/%.c,%,$(filter-out fuzz/replay.c,$(wildcard fuzz/*.c)))
FUZZ_BASE    := -std=c11 -g -O1 -I. -Isrc -Iport -I$(VENDOR_DIR)/include $(UNIT_CFG) $(PORT_CFLAGS) \
                -fno-sanitize-recover=all
FUZZ_CORE    := src/core/strv.c src/core/fmt.c src/core/status.c src/core/assert.c src/core/utf8.c port/$(PORT)/port.c \
               port/$(PORT)/os.c port/$(PORT)/loop_$(LOOP).c
FUZZ_SRC_http := src/http/parse.c $(FUZZ_CORE)
# http_head_diff: the head parser against the one it replaced
# (fuzz/ref_http_head.h), input by input
FUZZ_SRC_http_head_diff := src/http/parse.c $(FUZZ_CORE)
FUZZ_SRC_json := src/json/read.c src/json/write.c vendor/jsmn.c $(FUZZ_CORE)
FUZZ_SRC_ws := src/http/ws.c src/core/sha1.c src/core/mdblock.c src/core/base64.c $(FUZZ_CORE)
FUZZ_SRC_sse_in := src/out/sse_in.c src/out/llm_wire.c src/json/read.c src/json/write.c vendor/jsmn.c $(FUZZ_CORE)
FUZZ_SRC_spawn := src/engine/spawn.c $(FUZZ_CORE)
# multipart: the streaming parser against a whole-body reference in the
# target, the body cut at points taken from the input
FUZZ_SRC_multipart := src/http/multipart.c $(FUZZ_CORE)
# bturn: the builder's reply parsers (turns, skill replies) and what a
# parsed turn feeds (option labels, assemble's files, the identity parser)
FUZZ_SRC_bturn := src/fam/fleet/bturn.c src/fam/fleet/skillmd.c src/fam/fleet/templates.c \
                  src/fam/fleet/identity.c src/json/read.c src/json/write.c vendor/jsmn.c $(FUZZ_CORE)
# fuzz/heap.c includes src/core/heap.c itself (built with NDEBUG: bad frees
# take the release path and are counted)
FUZZ_SRC_heap := $(FUZZ_CORE)

define FUZZ_RULES
$(BUILD)/fuzz/$(1): fuzz/$(1).c $(FUZZ_SRC_$(1)) | vendor-headers
	@mkdir -p $$(dir $$@)
	$(FUZZ_CC) $(FUZZ_BASE) -fsanitize=fuzzer,address,undefined -o $$@ $$^
$(BUILD)/fuzz/$(1)-replay: fuzz/$(1).c fuzz/replay.c $(FUZZ_SRC_$(1)) | vendor-headers
	@mkdir -p $$(dir $$@)
	$(FUZZ_CC) $(FUZZ_BASE) -fsanitize=address,undefined -o $$@ $$^
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULES,$(t))))

fuzz: $(foreach t,$(FUZZ_TARGETS),$(BUILD)/fuzz/$(t) $(BUILD)/fuzz/$(t)-replay)

FUZZ_SECONDS ?= 30
FUZZ_JOBS ?= 2
fuzz-smoke: fuzz
	@FUZZ_JOBS=$(FUZZ_JOBS) tools/fuzz.sh $(BUILD)/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# ---- the fault suite: the debug build under injected faults -----------------
# tests/fault/test_faults.py (its docstring lists what each fault must
# produce) against build/debug/roostd. fault-short walks a sparse schedule of
# N for every fault (part of check); fault-long walks every N, round after
# round, for FAULT_SECONDS (CI runs it after check).
FAULT_SECONDS ?= 600
FAULT_ENV = ROOSTD=$(abspath build/roostd) ROOSTD_DEBUG=$(abspath build/debug/roostd)
fault-short: all
	$(MAKE) debug
	$(FAULT_ENV) $(PYTHON) -m pytest -q -p no:cacheprovider tests/fault

fault-long: all
	$(MAKE) debug
	$(FAULT_ENV) FAULT_LONG=1 FAULT_SECONDS=$(FAULT_SECONDS) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider tests/fault

# ---- everything CI runs ----------------------------------------------------
# tools/check.sh: unit, integration (epoll, poll), fault-short, check-plan,
# the small and server profiles' suites, asan, then check-lwip, the
# Cortex-M size gate and check-aarch64 (check-ports' three), one after
# another; beside them, at nice 19, the builds those stages need, misra
# and fuzz-smoke (its header says why and how).
check: all
	$(MAKE) check-os-headers
	$(MAKE) check-layers
	@tools/check.sh

# The other ports: roostd over lwIP on TAP devices in a network namespace
# (the small profile's suites), the aarch64 cross build under qemu-aarch64
# (the unit suite and a smoke), the Cortex-M4 firmware image and its size
# gate (static RAM <= 512 KiB, flash <= 1 MiB).
check-ports:
	$(MAKE) check-lwip
	$(MAKE) check-aarch64
	$(MAKE) PORT=cortexm PROFILE=small all size

# Long campaigns, not part of check: the chat soak (reports per round: streams
# ok, VmRSS, heap high waters, client timings; the shim's verdict at the end),
# then fuzzing.
SOAK_ROUNDS ?= 100
soak: $(BUILD)/roostd $(SHIM)
	$(PYTHON) bench/chat_soak.py $(BUILD)/roostd --rounds $(SOAK_ROUNDS) --shim $(SHIM)
	$(MAKE) fuzz-smoke FUZZ_SECONDS=1800

bench: $(BUILD)/roostd
	bench/health.sh $(BUILD)/roostd
	bench/fleet.sh $(BUILD)/roostd
	bench/ws_flood.sh $(BUILD)/roostd
	$(PYTHON) bench/chat_soak.py $(BUILD)/roostd

# ns per alloc/free of core/heap against glibc malloc (bench/README.md)
$(BUILD)/bench/heap: bench/heap.c src/core/heap.c src/core/assert.c port/$(PORT)/port.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O2 -g $(INCS) $(PORT_CFLAGS) -o $@ $^

bench-heap: $(BUILD)/bench/heap
	$(BUILD)/bench/heap

# MB/s of sha256_update, portable C and the SHA extensions side by side
# (bench/README.md "SHA-256"); flags as the release build
SHA256_SRC := src/core/sha256.c src/core/sha256_x86.c src/core/mdblock.c
$(BUILD)/bench/sha256: bench/sha256.c $(SHA256_SRC) $(PROFILE_DEPS) src/core/sha256.h src/core/sha256_x86.h src/core/mdblock.h
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O2 -g -DNDEBUG $(INCS) $(EXTRA_CFLAGS) -o $@ bench/sha256.c $(SHA256_SRC)

bench-sha256: $(BUILD)/bench/sha256
	$(BUILD)/bench/sha256

# CPU, syscalls and instructions per request, pipelining, WebSocket fan-out
# (bench/README.md "Peers"); BEFORE=path/to/old/roostd adds that build
bench-peers: $(BUILD)/roostd
	bench/peers.sh $(BUILD)/roostd

# Install as a systemd service (tools/install.sh says what goes where; README
# "Installing as a service"). PREFIX, DESTDIR, SERVICE_USER,
# MEMORY_HEADROOM_MIB and MEMORY_MAX pass through.
# INSTALL_BIN: the binary to install (a test installs the one it tests).
PREFIX ?= /usr/local
INSTALL_BIN ?= $(BUILD)/roostd
install: $(INSTALL_BIN)
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" ROOSTD="$(INSTALL_BIN)" \
	    SERVICE_USER="$(SERVICE_USER)" MEMORY_HEADROOM_MIB="$(MEMORY_HEADROOM_MIB)" \
	    MEMORY_MAX="$(MEMORY_MAX)" \
	    tools/install.sh install

uninstall:
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" tools/install.sh uninstall

deps:
	tools/deps.sh

clean:
	rm -rf build

# Every object's header dependencies, the unit tests' own objects included
# (without them a test is not rebuilt when a header it uses changes).
UNIT_TEST_OBJ := $(patsubst tests/unit/%.c,$(BUILD)/unit/obj/tests/unit/%.o,$(UNIT_SRC))
-include $(OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(UNIT_TEST_OBJ:.o=.d)
