/*
 * families.h - the list of families (families.def) as descriptors.
 *
 * fam_list[i] for i < FAM_COUNT, in the order of families.def; FAM_<NAME>
 * is a family's index. Built or not, every family is in the list (see
 * desc.h for what a family not built still carries).
 */
#ifndef ROOST_FAM_FAMILIES_H
#define ROOST_FAM_FAMILIES_H

#include <stddef.h>

#include "fam/desc.h"

typedef enum {
#define FAMILY(name, NAME) FAM_##NAME,
#include "fam/families.def"
#undef FAMILY
    FAM_COUNT
} fam_id;

#define FAMILY(name, NAME) extern const fam_desc fam_##name;
#include "fam/families.def"
#undef FAMILY

extern const fam_desc *const fam_list[FAM_COUNT];

#endif
