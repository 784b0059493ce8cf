/*  =========================================================================
    rh_classes - the one header every rhannu .c file includes

    System, OpenSSL, libsodium and project headers live here so that each
    source file sees the same feature macros and declarations.
    =========================================================================
*/
#ifndef RH_CLASSES_H_INCLUDED
#define RH_CLASSES_H_INCLUDED

#ifndef _GNU_SOURCE
#    define _GNU_SOURCE
#endif

#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
#include <sys/wait.h>
#include <sys/inotify.h>

//  Defensive branches: conditions that "cannot happen" but are handled anyway (SQLite's habit).
#define ALWAYS(x) (x)
#define NEVER(x)  (x)

#include "rh_limits.h"
#include "rh_rc.h"
#include "rh_log.h"
#include "rh_file.h"
#include "rh_time.h"
#include "rh_signer.h"
#include "rh_envelope.h"
#include "rh_merkle.h"
#include "rh_frame.h"
#include "rh_record.h"
#include "rh_json.h"
#include "rh_subject.h"
#include "rh_identity.h"
#include "rh_certstore.h"
#include "rh_ca.h"
#include "rh_db.h"
#include "rh_config.h"
#include "rh_agreement.h"
#include "rh_policy.h"

#endif
