#ifndef INFERLINE_CPNG_SHIM_H
#define INFERLINE_CPNG_SHIM_H
// libpng, for CPNGWriter (which uses its simplified API, png_image: no setjmp/longjmp to cross into Swift).
#include <png.h>

#endif
