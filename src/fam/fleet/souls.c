/* souls.c - fleet handlers (see handlers.h). Not implemented yet: 501. */
#include "fam/fleet/handlers.h"

#include "fam/fleet/api.h"

void souls_get(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}

void souls_put(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}

void souls_versions(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}

void souls_version(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}

void souls_rollback(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}

void souls_verify(hctx *h)
{
    fleet_fail(h, 501, "NOT_IMPLEMENTED", "Not implemented yet");
}
