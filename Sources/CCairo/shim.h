#ifndef INFERLINE_CCAIRO_SHIM_H
#define INFERLINE_CCAIRO_SHIM_H
#include <cairo.h>
#include <cairo-svg.h>
#endif
