// tests/support/httplib.h: cpp-httplib as Debian builds it. libcpp-httplib.so is compiled with
// OpenSSL, zlib and brotli support; every file that includes the header must declare the same
// features, or the class layouts disagree with the library.
#pragma once

#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif
#include <httplib.h>
