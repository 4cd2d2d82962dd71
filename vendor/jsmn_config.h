/*
 * jsmn_config.h - how roost builds jsmn. Include it before every
 * #include "jsmn.h": JSMN_PARENT_LINKS changes the layout of jsmntok_t.
 */
#ifndef ROOST_JSMN_CONFIG_H
#define ROOST_JSMN_CONFIG_H

#define JSMN_PARENT_LINKS
#define JSMN_STRICT

#endif
