# vendor/vendor.mk - third-party libraries, included by the Makefile.
#
# Sources are never committed: vendor/fetch.sh takes them from Debian source
# packages pinned in vendor/lock and prepares them under $(VENDOR_DIR)
# (build/vendor, shared by every BUILD variant). Objects are compiled per
# BUILD ($(BUILD)/vendor/*.o) with each library's own flags. See
# vendor/README.md for how to add a library.
#
#   make vendor-headers   fetch + prepare every package (instant when done)
#   make vendor           the same, plus every vendor object of this BUILD

# Packages in lock order (lines whose first field starts with a letter/digit).
VENDOR_PKGS   := $(shell awk 'NF == 4 && $$1 ~ /^[a-z0-9]/ && !seen[$$1]++ { print $$1 }' vendor/lock)
VENDOR_STAMPS := $(VENDOR_PKGS:%=$(VENDOR_DIR)/.stamp-%)
# sqlite3.o carries no sanitizers, so one object serves every BUILD variant.
VENDOR_OBJS   := $(VENDOR_DIR)/obj/sqlite3.o $(BUILD)/vendor/jsmn.o

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
$(VENDOR_DIR)/obj/sqlite3.o: $(VENDOR_DIR)/src/sqlite3.c vendor/sqlite3.mk | vendor-headers
	@mkdir -p $(dir $@)
	$(CC) $(SQLITE3_CFLAGS) -c -o $@.tmp $<
	@if nm -u $@.tmp | grep -Ew '(malloc|calloc|realloc|free|strdup|strndup|posix_memalign|aligned_alloc|localtime)'; then \
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

$(VENDOR_FILES): | vendor-headers ;
