# vendor/vendor.mk - third-party libraries, included by the Makefile.
#
# Sources are never committed: vendor/fetch.sh takes them from Debian source
# packages pinned in vendor/lock and prepares them under $(VENDOR_DIR)
# (build/vendor, shared by every BUILD variant). Objects are compiled per
# BUILD ($(BUILD)/vendor/*.o) with each library's own flags. See
# vendor/README.md for how to add a library.
#
# Libraries and sqlite3.o go to $(VENDOR_OUT): $(VENDOR_DIR) itself for the
# machine's own compiler, build/<ARCH>/vendor for a cross build (ARCH=aarch64
# in the Makefile), where mbedtls is built in a copy of its tree and c-ares
# and curl are configured with --host=$(VENDOR_HOST). Headers are shared.
#
#   make vendor-headers   fetch + prepare every package (instant when done)
#   make vendor           the same, plus every vendor object of this BUILD

# Packages in lock order (lines whose first field starts with a letter/digit).
VENDOR_PKGS   := $(shell awk 'NF == 4 && $$1 ~ /^[a-z0-9]/ && !seen[$$1]++ { print $$1 }' vendor/lock)
VENDOR_STAMPS := $(VENDOR_PKGS:%=$(VENDOR_DIR)/.stamp-%)
# sqlite3.o carries no sanitizers, so one object serves every BUILD variant.
VENDOR_OBJS   := $(VENDOR_OUT)/obj/sqlite3.o $(BUILD)/vendor/jsmn.o
# Static libraries, also without sanitizers and shared by every BUILD variant
# ($(VENDOR_DIR)/lib). Link order: users before what they use.
VENDOR_LIBS   := $(VENDOR_OUT)/lib/libcurl.a $(VENDOR_OUT)/lib/libcares.a \
                 $(VENDOR_OUT)/lib/libmbedtls.a $(VENDOR_OUT)/lib/libmbedx509.a \
                 $(VENDOR_OUT)/lib/libmbedcrypto.a
VENDOR_OBJS   += $(VENDOR_LIBS)

.PHONY: vendor-headers
vendor-headers: $(VENDOR_STAMPS)

vendor: vendor-headers $(VENDOR_OBJS)

# One stamp per package. fetch.sh serializes concurrent runs with flock and
# only touches a stamp whose package is already prepared, so a changed lock
# costs nothing for the packages it did not change.
$(VENDOR_DIR)/.stamp-%: vendor/lock vendor/fetch.sh
	vendor/fetch.sh $*

# Files the stamp rules make, listed by each library below (order-only: a
# stamp may be touched without its files changing; a remade file has a new
# mtime of its own, which is what the objects depend on).
VENDOR_FILES :=

# ---- sqlite3: amalgamation, our options in vendor/sqlite3.mk ----------------
include vendor/sqlite3.mk
$(VENDOR_DIR)/.stamp-sqlite3: vendor/sqlite3.patches
VENDOR_FILES += $(VENDOR_DIR)/src/sqlite3.c $(VENDOR_DIR)/include/sqlite3.h

# The compile is followed by a link-level check that sqlite cannot reach the
# system allocator (see SQLITE_ZERO_MALLOC in vendor/sqlite3.mk).
$(VENDOR_OUT)/obj/sqlite3.o: $(VENDOR_DIR)/src/sqlite3.c vendor/sqlite3.mk | vendor-headers
	@mkdir -p $(dir $@)
	$(CC) $(SQLITE3_CFLAGS) -c -o $@.tmp $<
	@if $(NM) -u $@.tmp | grep -Ew '(malloc|calloc|realloc|free|strdup|strndup|posix_memalign|aligned_alloc|localtime)'; then \
	  echo "vendor: sqlite3.o references the system allocator (above)"; rm -f $@.tmp; exit 1; fi
	@mv $@.tmp $@

# ---- jsmn: header-only; vendor/jsmn.c is the one implementation object ------
# Built with the sanitizers of the build (it parses untrusted input), but not
# with our warning set.
VENDOR_FILES += $(VENDOR_DIR)/include/jsmn.h
JSMN_CFLAGS = -O2 -g $(EXTRA_CFLAGS) -I. -I$(VENDOR_DIR)/include
$(BUILD)/vendor/jsmn.o: vendor/jsmn.c vendor/jsmn_config.h $(VENDOR_DIR)/include/jsmn.h | vendor-headers
	@mkdir -p $(dir $@)
	$(CC) $(JSMN_CFLAGS) -c -o $@ $<

# ---- libraries built by their own build systems ----------------------------
# mbedtls (its library Makefile), c-ares and curl (autoconf, configured from
# the release tarballs): each is built once into $(VENDOR_DIR)/lib, for every
# BUILD variant. No sanitizers: ASan/UBSan objects link fine against
# uninstrumented code, the libraries' memory is a roost heap (ASan could not
# see inside it anyway), and the asan build reuses the plain build's libraries
# instead of compiling them again. The sub-makes share make's job slots; make's
# command-line variables (BUILD=, SAN=) are not passed down.
VENDOR_LIB_CFLAGS := -O2 -g
VENDOR_SUBMAKE = MAKEFLAGS="$${MAKEFLAGS%%-- *}" $(MAKE) --no-print-directory
# Package directories (the Debian version, as fetch.sh names them).
vendor_src = $(VENDOR_DIR)/src/$(1)-$(shell awk '$$1 == "$(1)" { print $$2; exit }' vendor/lock)
MBEDTLS_SRC := $(call vendor_src,mbedtls)
CARES_SRC   := $(call vendor_src,c-ares)
CURL_SRC    := $(call vendor_src,curl)
CURL_BLD    := $(VENDOR_OUT)/curl-bld
# Where mbedtls is compiled: its own tree natively, a copy of it in a cross
# build (its Makefile builds in place).
ifeq ($(VENDOR_OUT),$(VENDOR_DIR))
MBEDTLS_BLD := $(MBEDTLS_SRC)
else
MBEDTLS_BLD := $(VENDOR_OUT)/mbedtls
endif
CARES_BLD   := $(if $(VENDOR_HOST),$(VENDOR_OUT)/c-ares-bld,$(CARES_SRC)/bld)
# A library must not reach the system heap or the OS on its own. mbedtls is
# proven by its symbols; curl and c-ares keep malloc/free as the defaults
# their *_init_mem replace (and c-ares reads /etc/resolv.conf with stdio at
# channel creation; the hosts file, read per lookup, with open/read since
# vendor/c-ares-hosts.patch), so they are checked by the malloc shim at run
# time (tests/integration/test_vendor_tls.py, test_dns_heap.py) instead. No
# library may use threads.
VENDOR_FILES += $(VENDOR_DIR)/src/mbedtls.key $(VENDOR_DIR)/src/c-ares.key $(VENDOR_DIR)/src/curl.key
VENDOR_NO_HEAP := malloc|calloc|realloc|free|strdup|strndup|posix_memalign|aligned_alloc
VENDOR_NO_OS   := fopen|open|time|gmtime_r|gmtime|localtime|localtime_r|getrandom|socket
VENDOR_NO_THREADS := pthread_create|thrd_create|clone

# ---- lwip: compiled here with port/lwip's options (vendor/lwip.mk) ------------
include vendor/lwip.mk
$(VENDOR_DIR)/.stamp-lwip: vendor/lwip.patches

# mbedtls: our options are installed as include/mbedtls/config.h for every
# includer (see vendor/mbedtls_config.h), and copied into the source tree so
# the library itself is compiled with them. Its Makefile tracks no header
# dependencies, so any change rebuilds the whole library (about 90 files).
$(VENDOR_DIR)/include/mbedtls/config.h: vendor/mbedtls_config.h | $(VENDOR_DIR)/.stamp-mbedtls
	@mkdir -p $(dir $@)
	cp $< $@
vendor-headers: $(VENDOR_DIR)/include/mbedtls/config.h

$(VENDOR_OUT)/lib/libmbedtls.a $(VENDOR_OUT)/lib/libmbedx509.a $(VENDOR_OUT)/lib/libmbedcrypto.a &: \
		$(VENDOR_DIR)/src/mbedtls.key vendor/mbedtls_config.h vendor/mbedtls_platform.c | vendor-headers
	@mkdir -p $(VENDOR_OUT)/lib
	$(if $(filter-out $(MBEDTLS_SRC),$(MBEDTLS_BLD)),rm -rf $(MBEDTLS_BLD) && cp -a $(MBEDTLS_SRC) $(MBEDTLS_BLD))
	cp vendor/mbedtls_config.h $(MBEDTLS_BLD)/include/mbedtls/config.h
	rm -f $(MBEDTLS_BLD)/library/*.o $(MBEDTLS_BLD)/library/*.a
	+$(VENDOR_SUBMAKE) -C $(MBEDTLS_BLD)/library CC='$(CC)' AR='$(AR)' CFLAGS='$(VENDOR_LIB_CFLAGS)' static
	$(CC) $(VENDOR_LIB_CFLAGS) -I$(MBEDTLS_BLD)/include -c -o $(MBEDTLS_BLD)/library/roost_platform.o vendor/mbedtls_platform.c
	$(AR) rcs $(MBEDTLS_BLD)/library/libmbedcrypto.a $(MBEDTLS_BLD)/library/roost_platform.o
	@if $(NM) -u $(MBEDTLS_BLD)/library/libmbed*.a | sort -u | grep -Ew '($(VENDOR_NO_HEAP)|$(VENDOR_NO_OS)|$(VENDOR_NO_THREADS))'; then \
	  echo "vendor: mbedtls references the system heap, files, clock or threads (above)"; exit 1; fi
	cp $(MBEDTLS_BLD)/library/libmbedtls.a $(MBEDTLS_BLD)/library/libmbedx509.a \
	   $(MBEDTLS_BLD)/library/libmbedcrypto.a $(VENDOR_OUT)/lib/

# A cross build's configure runs (c-ares and curl, --host=$(VENDOR_HOST))
# are the serial part of a cold cross build, and CI builds from a clean
# clone. Three things keep them short, each leaving the configuration as a
# full run makes it (ares_config.h and curl_config.h compared byte for byte):
# - dash runs them (CONFIG_SHELL): autoconf would re-run each script under
#   bash, which forks more slowly (curl's configure: 79 s under bash, 54 s
#   under dash);
# - c-ares's configure finds the argument types of recv, recvfrom and send
#   by compiling every combination of candidate types, about 4 minutes of a
#   4-minute run under --host; they are the cache answers
#   (curl_cv_func_*_args) that the native configure of the same tree found
#   (fetch.sh: bld/config.log), glibc declares them alike on every
#   architecture, and vendor/c-ares-socket-args.c redeclares them against
#   the target's <sys/socket.h>, so an answer that does not hold there stops
#   the build;
# - curl is configured without automake's dependency tracking (its setup,
#   config.status's "depfiles" step, was a minute of a 3.5-minute run); a
#   change to what curl's objects include reconfigures it instead (below).
# No config.cache: configure runs again only when its package, its options
# or (curl, cross) mbedtls's options change, each of which voids a cache, so
# one would never be read; and c-ares and curl define cache variables of the
# same name and another meaning (curl_cv_save_LIBS), so they cannot share one.
VENDOR_CONFIGURE_ENV := CONFIG_SHELL=/bin/dash
VENDOR_CONFIGURE_SH  := /bin/dash
CARES_NATIVE_LOG := $(CARES_SRC)/bld/config.log
CARES_ARG_TYPES = $(shell sed -nE "s/^(curl_cv_func_(recv|recvfrom|send)_args='[^']*')$$/\1/p" $(CARES_NATIVE_LOG) 2>/dev/null)

# c-ares: configured by fetch.sh (its options are there, in prepare_c_ares).
# Its patch list and roost's own patch are in the stamp key: a change to
# either prepares c-ares again (a fresh tree), which rewrites c-ares.key, so
# libcares.a is built again, then libcurl.a's rule runs and roost relinks.
# (curl's objects are not recompiled: no header they include changes.)
$(VENDOR_DIR)/.stamp-c-ares: vendor/c-ares.patches vendor/c-ares-hosts.patch vendor/c-ares-tables.patch
$(VENDOR_OUT)/lib/libcares.a: $(VENDOR_DIR)/src/c-ares.key | vendor-headers
	@mkdir -p $(dir $@)
ifneq ($(VENDOR_HOST),)
	@# A cross build configures its own tree with fetch.sh's options and --host,
	@# under dash (CONFIG_SHELL; see VENDOR_CONFIGURE_ENV) and with the socket
	@# calls' argument types that the native configure found (CARES_ARG_TYPES),
	@# then checks those against the target's headers.
	rm -rf $(CARES_BLD) && mkdir -p $(CARES_BLD)
	@echo "vendor: c-ares: configure --host=$(VENDOR_HOST) (log: $(CARES_BLD)/configure.log)"
	@cd $(CARES_BLD) && if ! (unset MAKEFLAGS MFLAGS MAKELEVEL; $(VENDOR_CONFIGURE_ENV) \
	    $(VENDOR_CONFIGURE_SH) $(abspath $(CARES_SRC))/configure --host=$(VENDOR_HOST) CC='$(CC)' CFLAGS='$(VENDOR_LIB_CFLAGS)' \
	    --disable-shared --enable-static --disable-tests --disable-debug \
	    --disable-warnings --disable-werror --disable-dependency-tracking \
	    $(CARES_ARG_TYPES)) >configure.log 2>&1; then \
	  tail -n 30 configure.log; echo "vendor: c-ares: configure failed"; exit 1; fi
	$(CC) -Werror -fsyntax-only -I$(CARES_BLD)/src/lib vendor/c-ares-socket-args.c
endif
	+$(VENDOR_SUBMAKE) -C $(CARES_BLD)/src/lib libcares.la
	@if $(NM) -u $(CARES_BLD)/src/lib/.libs/libcares.a | grep -Ew '($(VENDOR_NO_THREADS))'; then \
	  echo "vendor: c-ares references threads (above)"; exit 1; fi
	cp $(CARES_BLD)/src/lib/.libs/libcares.a $@

# curl: configure (the line is vendor/curl.mk) runs once per change of the
# package or of curl.mk, out of tree in $(CURL_BLD); it links its test
# programs against the mbedtls and c-ares libraries above. Then make in
# lib/ only, which rebuilds what changed (dependency tracking is on).
include vendor/curl.mk
$(VENDOR_DIR)/.stamp-curl: vendor/curl.patches
# A cross build tracks no header dependencies in curl (see above): a change
# of mbedtls's options or of the c-ares package configures curl again.
$(CURL_BLD)/.configured: $(VENDOR_DIR)/src/curl.key vendor/curl.mk \
		$(if $(VENDOR_HOST),vendor/mbedtls_config.h $(VENDOR_DIR)/src/mbedtls.key $(VENDOR_DIR)/src/c-ares.key) \
		| vendor-headers $(VENDOR_OUT)/lib/libmbedcrypto.a $(VENDOR_OUT)/lib/libcares.a
	rm -rf $(CURL_BLD)
	@mkdir -p $(CURL_BLD)
	@# configure looks for mbedtls and c-ares under one prefix: include/ and lib/
	$(if $(filter-out $(VENDOR_DIR),$(VENDOR_OUT)),ln -sfn $(abspath $(VENDOR_DIR))/include $(VENDOR_OUT)/include)
	@echo "vendor: curl: configure (log: $(CURL_BLD)/configure.log)"
	@cd $(CURL_BLD) && if ! (unset MAKEFLAGS MFLAGS MAKELEVEL; $(if $(VENDOR_HOST),$(VENDOR_CONFIGURE_ENV)) \
	    $(if $(VENDOR_HOST),$(VENDOR_CONFIGURE_SH)) $(abspath $(CURL_SRC))/configure $(CURL_CONFIGURE)) >configure.log 2>&1; then \
	  tail -n 30 configure.log; echo "vendor: curl: configure failed"; exit 1; fi
	@grep -q '^#define USE_MBEDTLS 1' $(CURL_BLD)/lib/curl_config.h && \
	 grep -q '^#define USE_ARES 1' $(CURL_BLD)/lib/curl_config.h || \
	 { echo "vendor: curl: configured without mbedtls or c-ares"; exit 1; }
	@touch $@

$(VENDOR_OUT)/lib/libcurl.a: $(CURL_BLD)/.configured $(VENDOR_OUT)/lib/libmbedcrypto.a \
		$(VENDOR_OUT)/lib/libcares.a | vendor-headers
	+$(VENDOR_SUBMAKE) -C $(CURL_BLD)/lib libcurl.la
	@if $(NM) -u $(CURL_BLD)/lib/.libs/libcurl.a | grep -Ew '($(VENDOR_NO_THREADS))'; then \
	  echo "vendor: libcurl references threads (above)"; exit 1; fi
	cp $(CURL_BLD)/lib/.libs/libcurl.a $@

$(VENDOR_FILES): | vendor-headers ;
# A library's key is rewritten by its package's stamp rule (fetch.sh) when
# the package is prepared again. Depending on the stamp itself, not only on
# vendor-headers (order-only), makes make read the key's time after fetch.sh
# ran: a new key rebuilds its library in the same run, not the next one.
$(VENDOR_DIR)/src/mbedtls.key: $(VENDOR_DIR)/.stamp-mbedtls
$(VENDOR_DIR)/src/c-ares.key: $(VENDOR_DIR)/.stamp-c-ares
$(VENDOR_DIR)/src/curl.key: $(VENDOR_DIR)/.stamp-curl
$(VENDOR_DIR)/src/lwip.key: $(VENDOR_DIR)/.stamp-lwip
