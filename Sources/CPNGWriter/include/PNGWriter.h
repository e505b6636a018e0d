#ifndef INFERLINE_PNG_WRITER_H
#define INFERLINE_PNG_WRITER_H
#include <stddef.h>

/// Writes Cairo ARGB32 pixels (native-endian 32-bit words, alpha premultiplied; rows `stride` bytes apart) to a
/// PNG at `path`: straight alpha as Cairo's own writer undoes the premultiplication, no row filters and a low
/// deflate level (PNG_IMAGE_FLAG_FAST). Returns 1, or 0 with libpng's reason in `message` (at most `size` bytes).
/// O(pixels).
int inferline_write_png(
    const unsigned char *data, int width, int height, int stride, const char *path, char *message, size_t size);
#endif
