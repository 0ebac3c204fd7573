/* stb_write.c - the one implementation of stb_image_write in salient (the
   PNG and JPEG figures, the PNG information measure), in a file of its own
   so that the sanitizer build (make asan) can spare it one check.

   stb's JPEG bit writer (stbiw__jpg_writeBits) shifts a signed int left
   past its range. ISO C leaves that undefined; GCC defines it ("GCC does
   not use the latitude given in C99 and C11 only to treat certain aspects
   of signed '<<' as undefined", the manual's Integers implementation
   section) but -fsanitize=undefined still reports it and, with
   -fno-sanitize-recover, stops the program. The Makefile builds this file
   with -fno-sanitize=shift-base under SAN; every other check stays, and
   all of salient's own code keeps every check. Nothing here reads input:
   the writer only encodes our own pixels. */
#define STB_IMAGE_WRITE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wswitch-enum"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop
