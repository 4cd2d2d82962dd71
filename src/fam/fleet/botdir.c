#include "fam/fleet/botdir.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "core/log.h"
#include "fam/fleet/api.h"
#include "port.h"

#define BOTDIR_PATH_BYTES ((size_t)CFG_CONF_VALUE_BYTES + 96u)

st_t botdir_make(const char *slug, bool *created)
{
    char dir[BOTDIR_PATH_BYTES];
    st_t st = ST_OK;
    *created = false;
    if (!fleet_bot_path(slug, NULL, dir, sizeof dir)) {
        st = ST_TOOBIG;
    } else if (!port_is_dir(dir)) {
        st = port_mkdir_p(dir, 0700u);
        *created = (st == ST_OK);
    } else {
        /* already there (an orphan of a crash): its files get replaced */
    }
    return st;
}

st_t botdir_write(const char *slug, const char *file, strv data)
{
    char dir[BOTDIR_PATH_BYTES];
    char path[BOTDIR_PATH_BYTES];
    st_t st = ST_OK;
    if (!fleet_bot_path(slug, NULL, dir, sizeof dir) ||
        !fleet_bot_path(slug, file, path, sizeof path)) {
        st = ST_TOOBIG;
    }
    if (st == ST_OK) {
        st = port_mkdir_p(dir, 0700u);
    }
    if (st == ST_OK) {
        st = port_file_write_atomic(path, (data.p != NULL) ? data.p : "", data.n, 0644u);
    }
    return st;
}

st_t botdir_read(const char *slug, const char *file, char *buf, size_t cap, size_t *n)
{
    char path[BOTDIR_PATH_BYTES];
    *n = 0u;
    if (!fleet_bot_path(slug, file, path, sizeof path)) {
        return ST_TOOBIG;
    }
    return port_file_read(path, buf, cap, n);
}

st_t botdir_remove(const char *slug)
{
    char dir[BOTDIR_PATH_BYTES];
    if (!fleet_bot_path(slug, NULL, dir, sizeof dir)) {
        return ST_TOOBIG;
    }
    return port_remove_tree(dir);
}

typedef struct {
    const char *dir;
} sweep_ctx;

static bool is_temp_name(const char *name)
{
    static const char *const k_files[] = { BOTDIR_SOUL, BOTDIR_IDENTITY, BOTDIR_USER };
    size_t i;
    bool hit = false;
    for (i = 0u; (i < (sizeof(k_files) / sizeof(k_files[0]))) && !hit; i++) {
        size_t n = strlen(k_files[i]);
        hit = (strncmp(name, k_files[i], n) == 0) && (strncmp(name + n, ".tmp.", 5u) == 0);
    }
    return hit;
}

/* Unlinking the entry just reported does not disturb the listing. */
static bool sweep_entry(const char *name, bool is_dir, void *ctx)
{
    const sweep_ctx *s = (const sweep_ctx *)ctx;
    if (!is_dir && is_temp_name(name)) {
        char path[BOTDIR_PATH_BYTES];
        int k = snprintf(path, sizeof path, "%s/%s", s->dir, name);
        if ((k > 0) && ((size_t)k < sizeof path)) {
            if (port_remove_tree(path) == ST_OK) {
                LOG_I("fleet", "removed stale temporary file %s", path);
            }
        }
    }
    return true;
}

void botdir_sweep(const char *slug)
{
    char dir[BOTDIR_PATH_BYTES];
    sweep_ctx s;
    if (fleet_bot_path(slug, NULL, dir, sizeof dir)) {
        s.dir = dir;
        (void)port_dir_list(dir, sweep_entry, &s);
    }
}
