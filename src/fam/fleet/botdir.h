/*
 * botdir.h - the files of one bot: <data_dir>/bots/<slug>/{SOUL,IDENTITY,
 * USER}.md (spec/fleet.md §3, README §4).
 *
 * Writes are atomic (temp file in the same directory, fsync, rename, fsync
 * of the directory: port_file_write_atomic): after a crash a file holds its
 * old or its new content, never a mix. The directory is created (0700, as
 * the data directory) when missing. slug must be a valid slug (it is a path
 * component); file one of the BOTDIR_* names.
 */
#ifndef ROOST_FLEET_BOTDIR_H
#define ROOST_FLEET_BOTDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "core/status.h"
#include "core/strv.h"

#define BOTDIR_SOUL "SOUL.md"
#define BOTDIR_IDENTITY "IDENTITY.md"
#define BOTDIR_USER "USER.md"

/* Make bots/<slug>/ if it is not there; *created tells whether this call
 * made it (a failed create removes only what it made). ST_EXISTS: something
 * that is not a directory is in the way (it is left alone). */
st_t botdir_make(const char *slug, bool *created);
/* Replace the file with data (mode 0644). ST_TOOBIG: the path does not fit;
 * other codes from the port (ST_IO, ST_PERM, ST_EXISTS when something that
 * is not a directory sits where bots/<slug> should be, ...). */
st_t botdir_write(const char *slug, const char *file, strv data);
/* Read the whole file into buf (cap bytes). ST_NOTFOUND: no such file;
 * ST_TOOBIG: larger than cap. */
st_t botdir_read(const char *slug, const char *file, char *buf, size_t cap, size_t *n);
/* Remove bots/<slug>/ and everything in it. ST_OK when it does not exist. */
st_t botdir_remove(const char *slug);
/* Remove the temporary files a killed write can leave in bots/<slug>/
 * ("<file>.tmp.<pid>"). Only safe while no write is in flight, i.e. at
 * startup. */
void botdir_sweep(const char *slug);

#endif
