// The PNG writer's pixel loop, in a C target of its own so that it is compiled optimised in debug builds too
// (C in a system library's shim header is compiled with the importing Swift module's settings: -O0 in debug).
#include "PNGWriter.h"
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int inferline_write_png(
    const unsigned char *data, int width, int height, int stride, const char *path, char *message, size_t size) {
  unsigned char *rgba = malloc((size_t)width * (size_t)height * 4);
  if (rgba == NULL) {
    snprintf(message, size, "out of memory");
    return 0;
  }
  for (int y = 0; y < height; y++) {
    const uint32_t *row = (const uint32_t *)(data + (size_t)y * (size_t)stride);
    unsigned char *out = rgba + (size_t)y * (size_t)width * 4;
    for (int x = 0; x < width; x++, out += 4) {
      uint32_t p = row[x];
      unsigned a = p >> 24, r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
      if (a == 0) {
        r = g = b = 0;
      } else if (a != 255) {
        r = (r * 255 + a / 2) / a;
        g = (g * 255 + a / 2) / a;
        b = (b * 255 + a / 2) / a;
      }
      out[0] = (unsigned char)r;
      out[1] = (unsigned char)g;
      out[2] = (unsigned char)b;
      out[3] = (unsigned char)a;
    }
  }
  png_image image;
  memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = (png_uint_32)width;
  image.height = (png_uint_32)height;
  image.format = PNG_FORMAT_RGBA;
  image.flags = PNG_IMAGE_FLAG_FAST;
  int written = png_image_write_to_file(&image, path, 0, rgba, width * 4, NULL);
  if (!written) {
    snprintf(message, size, "%s", image.message);
    png_image_free(&image);
  }
  free(rgba);
  return written;
}
