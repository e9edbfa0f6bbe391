// libstemmer.h has no include guard: include it only through this shim.
#include <libstemmer.h>
