// liblz4's block format (Debian liblz4-dev), for the tcp transport's compressed frames.
#include <lz4.h>
