#include "core/status.h"

const char *status_str(st_t st)
{
    switch (st) {
#define ROOST_STATUS_CASE(name, value, text) case (name): return (text);
        ROOST_STATUS_MAP(ROOST_STATUS_CASE)
#undef ROOST_STATUS_CASE
    default:
        return "unknown status";
    }
}
