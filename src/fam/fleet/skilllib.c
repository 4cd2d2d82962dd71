/*
 * skilllib.c - the skill library on disk (contract in skilllib.h).
 */
#include "fam/fleet/skilllib.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "core/log.h"
#include "fam/fleet/api.h"
#include "port.h"

#define PATH_BYTES ((size_t)CFG_CONF_VALUE_BYTES + 96u)

/* <data_dir>/skills/<name><suffix> into path; false when it does not fit
 * or name is not a skill name. */
static bool skill_path(const char *name, const char *suffix, char path[PATH_BYTES])
{
    int k;
    if (!skillmd_name_ok(strv_from_cstr(name))) {
        return false;
    }
    k = snprintf(path, PATH_BYTES, "%s/skills/%s%s", fleet_data_dir(), name, suffix);
    return (k > 0) && ((size_t)k < PATH_BYTES);
}

st_t skilllib_load(const char *name, char *buf, skillmd *m)
{
    char path[PATH_BYTES];
    size_t n = 0u;
    st_t st;
    if (!skill_path(name, "/SKILL.md", path)) {
        return ST_NOTFOUND;
    }
    st = port_file_read(path, buf, CFG_FLEET_SKILL_MD_BYTES, &n);
    if (st == ST_TOOBIG) {
        LOG_W("fleet", "skill %s: SKILL.md above %u bytes, ignored", name,
              (unsigned)CFG_FLEET_SKILL_MD_BYTES);
        return ST_BAD;
    }
    if (st != ST_OK) {
        return (st == ST_NOTFOUND) ? ST_NOTFOUND : st;
    }
    if (skillmd_parse(buf, n, m) != ST_OK) {
        LOG_D("fleet", "skill %s: SKILL.md does not parse, ignored", name);
        return ST_BAD;
    }
    return ST_OK;
}

st_t skilllib_install(const char *name, strv md, strv src)
{
    char path[PATH_BYTES];
    st_t st = ST_INVAL;
    if (skill_path(name, "/src", path)) {
        st = (src.p != NULL) ? port_mkdir_p(path, 0755u) : port_remove_tree(path);
    }
    if ((st == ST_OK) && (src.p != NULL)) {
        st = skill_path(name, "/src/lib.rs", path) ? port_file_write_atomic(path, src.p, src.n,
                                                                             0644u)
                                                    : ST_INVAL;
    }
    if ((st == ST_OK) && (src.p == NULL)) {
        st = skill_path(name, "", path) ? port_mkdir_p(path, 0755u) : ST_INVAL;
    }
    if (st == ST_OK) {
        st = skill_path(name, "/SKILL.md", path) ? port_file_write_atomic(path, md.p, md.n,
                                                                          0644u)
                                                  : ST_INVAL;
    }
    return st;
}

bool skilllib_exists(const char *name)
{
    char path[PATH_BYTES];
    return skill_path(name, "", path) && port_is_dir(path);
}

st_t skilllib_remove(const char *name)
{
    char path[PATH_BYTES];
    return skill_path(name, "", path) ? port_remove_tree(path) : ST_INVAL;
}
