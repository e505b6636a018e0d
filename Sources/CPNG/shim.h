#ifndef INFERLINE_CPNG_SHIM_H
#define INFERLINE_CPNG_SHIM_H
// libpng's simplified API (png_image): no setjmp/longjmp error handling to cross into Swift.
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#endif
