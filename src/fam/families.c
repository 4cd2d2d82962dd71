/*
 * families.c - the descriptors of families.def, in its order.
 */
#include "fam/families.h"

/* cppcheck-suppress misra-c2012-9.3 ; false positive: one initializer per row of families.def, counted by the assert below */
const fam_desc *const fam_list[] = {
#define FAMILY(name, NAME) &fam_##name,
#include "fam/families.def"
#undef FAMILY
};
_Static_assert((sizeof(fam_list) / sizeof(fam_list[0])) == (size_t)FAM_COUNT,
               "one descriptor per line of families.def");
