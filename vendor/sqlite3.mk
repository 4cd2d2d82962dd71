# vendor/sqlite3.mk - how roost compiles sqlite3 (included by vendor/vendor.mk).
#
# The store (src/store/store.c) gives sqlite its memory at init: a static
# heap (SQLITE_CONFIG_HEAP, memsys5), a static page cache and lookaside. The
# options below make sure nothing else can reach the system allocator.
# After a change here, `nm build/vendor/sqlite3.o | grep -w U` must still list
# no malloc/calloc/realloc/free (vendor-check-sqlite3 does that).

SQLITE3_DEFS :=
# One thread: no mutexes at all (DESIGN.md, hard property 2).
SQLITE3_DEFS += -DSQLITE_THREADSAFE=0
# The buddy allocator behind SQLITE_CONFIG_HEAP: every allocation comes from
# the fixed array the store hands over, in power-of-two blocks.
SQLITE3_DEFS += -DSQLITE_ENABLE_MEMSYS5
# The default allocator becomes a stub that always fails, and the code that
# calls malloc/realloc/free is not compiled in. Should sqlite ever start
# before the store configured its heap, it fails loudly instead of quietly
# using the system heap. (This is why SQLITE_OMIT_AUTOINIT is not set: an
# early automatic start is already harmless, and omitting it would turn the
# same mistake into undefined behaviour.)
SQLITE3_DEFS += -DSQLITE_ZERO_MALLOC
# No dlopen(), no loadable code.
SQLITE3_DEFS += -DSQLITE_OMIT_LOAD_EXTENSION
# Keep memory statistics: /metrics and `roostd --budget` read the heap and
# page-cache high-water marks (sqlite3_status64). Cheap without threads.
SQLITE3_DEFS += -DSQLITE_DEFAULT_MEMSTATUS=1
# "double-quoted" is an identifier, never a string literal: typos in SQL fail
# at prepare time (at init) instead of silently comparing with a string.
SQLITE3_DEFS += -DSQLITE_DQS=0
# Interfaces we never call; less code.
SQLITE3_DEFS += -DSQLITE_OMIT_DEPRECATED
SQLITE3_DEFS += -DSQLITE_OMIT_SHARED_CACHE
# LIKE/GLOB never match BLOBs (faster, and no surprising blob-as-text matches).
SQLITE3_DEFS += -DSQLITE_LIKE_DOESNT_MATCH_BLOBS
# Foreign keys on for every connection (the store also says PRAGMA foreign_keys=ON).
SQLITE3_DEFS += -DSQLITE_DEFAULT_FOREIGN_KEYS=1
# Temporary tables, indices and sorter spills live in memory, that is in our
# heap: no temp files in /tmp, and the memory use shows in the heap stats.
SQLITE3_DEFS += -DSQLITE_TEMP_STORE=3
# WAL databases default to synchronous=NORMAL: a commit survives a process
# crash (kill -9); only an OS crash or power loss can lose the last commits,
# never consistency. The store sets it explicitly (CFG_SQLITE_SYNCHRONOUS).
SQLITE3_DEFS += -DSQLITE_DEFAULT_WAL_SYNCHRONOUS=1
# No memory-mapped database I/O: all page memory is the static page cache or
# the heap, so the RAM plan is what config.h says. (The WAL index still uses
# its small shared-memory mapping, which is not heap.)
SQLITE3_DEFS += -DSQLITE_MAX_MMAP_SIZE=0
# The 'localtime' date modifier calls localtime(), which may allocate in libc
# (tzset reading /etc/localtime). roost keeps every timestamp in UTC.
SQLITE3_DEFS += -DSQLITE_OMIT_LOCALTIME
# pread()/pwrite() for every database, WAL and journal access: one system
# call where the default build makes two (lseek, then read or write).
# HAVE_PREAD and HAVE_PWRITE together make os_unix.c define USE_PREAD (its
# pread64 variant needs HAVE_PREAD64 and HAVE_PWRITE64; not used: off_t is
# 64-bit here). The store routes both through the port's operations table,
# as it does read and write (store.c, route_os_calls).
SQLITE3_DEFS += -DHAVE_PREAD=1 -DHAVE_PWRITE=1
# The page size the static page cache is sized for (src/store/store.h,
# STORE_PAGE_BYTES); this is also sqlite's default.
SQLITE3_DEFS += -DSQLITE_DEFAULT_PAGE_SIZE=4096

# Relaxed flags: vendor code is not held to our warning set, and sanitizers
# are left out (they would slow the asan build down for code that runs in its
# own heap anyway, where ASan cannot see overflows).
# A port without os_unix.c (PORT=cortexm) sets SQLITE3_PORT_DEFS to
# -DSQLITE_OS_OTHER=1 and brings its own VFS; pread/pwrite are unix's.
ifneq ($(SQLITE3_PORT_DEFS),)
SQLITE3_DEFS := $(filter-out -DHAVE_PREAD=1 -DHAVE_PWRITE=1,$(SQLITE3_DEFS)) $(SQLITE3_PORT_DEFS)
endif
SQLITE3_CFLAGS := -O2 -g $(filter-out -fsanitize% -fno-sanitize%,$(EXTRA_CFLAGS)) \
                  $(SQLITE3_DEFS)
