/* jsmn.c - the one object holding jsmn's implementation (configured by
 * vendor/jsmn_config.h); everyone else includes jsmn.h with JSMN_HEADER. */
#include "vendor/jsmn_config.h"
#include "jsmn.h"
