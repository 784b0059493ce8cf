/*  =========================================================================
    rh_prelude - the system and third-party headers every rhannu part uses

    System, OpenSSL, libsodium, ZeroMQ, LevelDB, YAML and JSON headers, and
    the ALWAYS/NEVER markers, live here and only here, so that every source
    file sees the same feature macros and declarations. lib/rh_lib.h
    builds on it; no .c file includes it directly.
    =========================================================================
*/
#ifndef RH_PRELUDE_H_INCLUDED
#define RH_PRELUDE_H_INCLUDED

#ifndef _GNU_SOURCE
#    define _GNU_SOURCE
#endif

#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>
#include <zmq.h>
#include <leveldb/c.h>

//  Debian's libzmq 4.3.4 implements ZAP domain enforcement but its header lists the option
//  among the draft ones; the value is fixed by libzmq. rh_broker checks that setting it works.
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#    define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif
#include <yaml.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/inotify.h>

//  Defensive branches: conditions that "cannot happen" but are handled anyway (SQLite's habit).
#define ALWAYS(x) (x)
#define NEVER(x)  (x)

//  Copies from (NULL: empty) into to [size], cut to fit: fixed fields filled from stored records,
//  whose writers kept the limits already.
static inline void
rh_text_copy (char *to, size_t size, const char *from)
{
    size_t length = from ? strnlen (from, size - 1) : 0;
    if (length)
        memcpy (to, from, length);
    to [length] = 0;
}

#endif
