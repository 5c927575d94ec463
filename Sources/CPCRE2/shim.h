#ifndef SPAMWARD_CPCRE2_SHIM_H
#define SPAMWARD_CPCRE2_SHIM_H
// PCRE2's 8-bit library (Debian: libpcre2-dev). Swift does not import the width-generic macro
// names (pcre2_compile), so callers use the _8 functions directly.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif
