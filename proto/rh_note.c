/*  =========================================================================
    rh_note - C2SP signed notes, checkpoints, cosignatures and the
    tlog-witness add-checkpoint request

    Every byte here may come from the network (a witness's request body, a
    witness's reply, a checkpoint frame), so each rule of the specs is a
    check that ends in a named refusal, and every length is bounded before
    anything is copied.
    =========================================================================
*/
#include "rh_proto.h"

#define S_DASH     "\xe2\x80\x94 "  //  em dash (U+2014) and a space: starts a signature line
#define S_DASH_LEN 4
#define S_COSIG_V1 "cosignature/v1\n"
#define S_B64_HASH 44  //  base64 of 32 bytes, with its padding
#define S_MAX_B64  (((RH_NOTE_MAX_SIG_BYTES + 2) / 3) * 4)
#define S_MAX_U64  20  //  decimal digits of 2^64 - 1

typedef struct {
    char *name;          //  key name, NUL-terminated
    uint32_t id;         //  key id
    uint8_t *signature;  //  signature bytes after the key id
    size_t size;         //  their length
} s_line_t;

struct _rh_note_t {
    char *text;                               //  note text, final newline included
    size_t text_size;                         //  its length
    s_line_t lines [RH_NOTE_MAX_SIGNATURES];  //  signature lines in order
    size_t count;                             //  how many
};

//  --------------------------------------------------------------------------
//  Decodes one UTF-8 code point at p (strictly: no overlong forms, no surrogates, nothing past
//  U+10FFFF). Returns its length in bytes and sets *cp, or 0 if the bytes are not UTF-8.

static size_t
s_utf8_next (const uint8_t *p, const uint8_t *end, uint32_t *cp)
{
    if (p >= end)
        return 0;
    uint8_t c = p [0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    else if ((c & 0xe0) == 0xc0) {
        n = 2, v = c & 0x1f, min = 0x80;
    }
    else if ((c & 0xf0) == 0xe0) {
        n = 3, v = c & 0x0f, min = 0x800;
    }
    else if ((c & 0xf8) == 0xf0) {
        n = 4, v = c & 0x07, min = 0x10000;
    }
    else
        return 0;
    if ((size_t) (end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p [i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (p [i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

//  True for the code points Unicode calls white space (what Go's unicode.IsSpace says).
static bool
s_is_space (uint32_t cp)
{
    return cp == 0x20 || (cp >= 0x09 && cp <= 0x0d) || cp == 0x85 || cp == 0xa0 || cp == 0x1680
           || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f
           || cp == 0x205f || cp == 0x3000;
}

//  True if data is UTF-8 with no control character (below U+0020) but newlines.
static bool
s_text_valid (const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    while (p < end) {
        uint32_t cp;
        size_t n = s_utf8_next (p, end, &cp);
        if (n == 0 || (cp < 0x20 && cp != '\n'))
            return false;
        p += n;
    }
    return true;
}

//  True if the size bytes at name make a valid key name.
static bool
s_name_valid (const char *name, size_t size)
{
    if (size == 0 || size > RH_NOTE_MAX_NAME)
        return false;
    const uint8_t *p = (const uint8_t *) name, *end = p + size;
    while (p < end) {
        uint32_t cp;
        size_t n = s_utf8_next (p, end, &cp);
        if (n == 0 || cp < 0x20 || cp == 0x7f || cp == '+' || s_is_space (cp))
            return false;
        p += n;
    }
    return true;
}

//  Parses a decimal u64 with no leading zeroes (but "0"). Returns true and sets *value.
static bool
s_parse_u64 (const char *p, size_t size, uint64_t *value)
{
    if (size == 0 || size > S_MAX_U64 || (size > 1 && p [0] == '0'))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < size; i++) {
        if (p [i] < '0' || p [i] > '9')
            return false;
        unsigned digit = (unsigned) (p [i] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *value = v;
    return true;
}

//  Decodes exactly size base64 characters (standard alphabet, padded, canonical) into at most
//  max bytes. Returns the decoded length, or -1.
static int
s_base64_decode (const char *p, size_t size, uint8_t *out, size_t max)
{
    //  libsodium's decoder takes some bytes above 0x7f for letters (found by fuzz_note), so
    //  the alphabet is checked here first.
    for (size_t i = 0; i < size; i++)
        if (!isalnum ((unsigned char) p [i]) && p [i] != '+' && p [i] != '/' && p [i] != '=')
            return -1;
    size_t got = 0;
    const char *stop = NULL;
    if (size == 0 || size % 4 != 0
        || sodium_base642bin (out, max, p, size, NULL, &got, &stop, sodium_base64_VARIANT_ORIGINAL)
               != 0
        || stop != p + size)
        return -1;
    return (int) got;
}

//  Decodes one base64 line that must hold a SHA-256 hash.
static bool
s_base64_hash (const char *p, size_t size, uint8_t out [RH_DIGEST_LEN])
{
    uint8_t buffer [RH_DIGEST_LEN + 3];
    if (size != S_B64_HASH || s_base64_decode (p, size, buffer, sizeof buffer) != RH_DIGEST_LEN)
        return false;
    memcpy (out, buffer, RH_DIGEST_LEN);
    return true;
}

static uint32_t
s_be32 (const uint8_t *p)
{
    return ((uint32_t) p [0] << 24) | ((uint32_t) p [1] << 16) | ((uint32_t) p [2] << 8) | p [3];
}

static uint64_t
s_be64 (const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p [i];
    return v;
}

static void
s_put_be32 (uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p [i] = (uint8_t) v;
}

static void
s_put_be64 (uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p [i] = (uint8_t) v;
}

static void
s_line_free (s_line_t *line)
{
    free (line->name);
    free (line->signature);
    memset (line, 0, sizeof *line);
}

//  --------------------------------------------------------------------------
//  Parses signature lines (each "— name base64\n", at least one) into lines [], at most max.
//  Returns RH_OK and sets *count, or a refusal with nothing left allocated.

static rh_rc_t
s_parse_lines (const uint8_t *data, size_t size, s_line_t *lines, size_t max, size_t *count)
{
    size_t n = 0;
    rh_rc_t rc = RH_E_MALFORMED;
    const char *p = (const char *) data, *end = p + size;
    uint8_t *decoded = malloc (RH_NOTE_MAX_SIG_BYTES);
    if (!decoded) {
        rc = RH_E_NOMEM;
        goto fail;
    }
    if (size == 0 || data [size - 1] != '\n' || !s_text_valid (data, size))
        goto fail;
    while (p < end) {
        const char *eol = memchr (p, '\n', (size_t) (end - p));
        if (!eol || (size_t) (eol - p) < S_DASH_LEN || memcmp (p, S_DASH, S_DASH_LEN) != 0)
            goto fail;
        if (n == max) {
            rc = RH_E_TOO_LARGE;
            goto fail;
        }
        const char *name = p + S_DASH_LEN;
        const char *space = memchr (name, ' ', (size_t) (eol - name));
        if (!space || !s_name_valid (name, (size_t) (space - name)))
            goto fail;
        const char *b64 = space + 1;
        size_t b64_size = (size_t) (eol - b64);
        if (b64_size > S_MAX_B64) {
            rc = RH_E_TOO_LARGE;
            goto fail;
        }
        int got = s_base64_decode (b64, b64_size, decoded, RH_NOTE_MAX_SIG_BYTES);
        if (got < 5)  //  a key id and at least one byte of signature
            goto fail;
        s_line_t *line = &lines [n];
        line->name = strndup (name, (size_t) (space - name));
        line->signature = malloc ((size_t) got - 4);
        if (!line->name || !line->signature) {
            n++;
            rc = RH_E_NOMEM;
            goto fail;
        }
        line->id = s_be32 (decoded);
        memcpy (line->signature, decoded + 4, (size_t) got - 4);
        line->size = (size_t) got - 4;
        n++;
        p = eol + 1;
    }
    free (decoded);
    *count = n;
    return RH_OK;
fail:
    free (decoded);
    for (size_t i = 0; i < n; i++)
        s_line_free (&lines [i]);
    return rc;
}

//  --------------------------------------------------------------------------
//  Keys

uint32_t
rh_note_key_id (const char *name, uint8_t type, const uint8_t public_key [RH_PUBKEY_LEN])
{
    assert (name && public_key);
    static const uint8_t newline = '\n';
    const void *parts [] = { name, &newline, &type, public_key };
    const size_t sizes [] = { strlen (name), 1, 1, RH_PUBKEY_LEN };
    uint8_t digest [RH_DIGEST_LEN];
    rh_sha256_parts (digest, parts, sizes, 4);
    return s_be32 (digest);
}

bool
rh_note_name_valid (const char *name)
{
    assert (name);
    return s_name_valid (name, strnlen (name, RH_NOTE_MAX_NAME + 1));
}

rh_rc_t
rh_note_vkey_make (const char *name, uint8_t type, const uint8_t public_key [RH_PUBKEY_LEN],
                   rh_note_vkey_t *vkey)
{
    assert (name && public_key && vkey);
    if (!rh_note_name_valid (name)
        || (type != RH_NOTE_TYPE_ED25519 && type != RH_NOTE_TYPE_COSIGNATURE))
        return RH_E_MALFORMED;
    memset (vkey, 0, sizeof *vkey);
    strcpy (vkey->name, name);  //  fits: the name is at most RH_NOTE_MAX_NAME bytes
    vkey->type = type;
    memcpy (vkey->public_key, public_key, RH_PUBKEY_LEN);
    vkey->id = rh_note_key_id (name, type, public_key);
    return RH_OK;
}

rh_rc_t
rh_note_vkey_parse (const char *text, rh_note_vkey_t *vkey)
{
    assert (text && vkey);
    size_t size = strnlen (text, RH_NOTE_MAX_VKEY + 1);
    if (size > RH_NOTE_MAX_VKEY)
        return RH_E_TOO_LARGE;
    const char *plus1 = memchr (text, '+', size);
    if (!plus1)
        return RH_E_MALFORMED;
    const char *hex = plus1 + 1;
    const char *plus2 = memchr (hex, '+', (size_t) (text + size - hex));
    if (!plus2 || plus2 - hex != 8)
        return RH_E_MALFORMED;
    uint32_t id = 0;
    for (int i = 0; i < 8; i++) {
        char c = hex [i];
        unsigned digit;
        if (c >= '0' && c <= '9')
            digit = (unsigned) (c - '0');
        else if (c >= 'a' && c <= 'f')
            digit = (unsigned) (c - 'a' + 10);
        else
            return RH_E_MALFORMED;  //  the spec's hex is lower case
        id = (id << 4) | digit;
    }
    const char *b64 = plus2 + 1;
    uint8_t key [1 + RH_PUBKEY_LEN + 2];
    if (s_base64_decode (b64, (size_t) (text + size - b64), key, sizeof key) != 1 + RH_PUBKEY_LEN)
        return RH_E_MALFORMED;
    char name [RH_NOTE_MAX_NAME + 1];
    size_t name_size = (size_t) (plus1 - text);
    if (!s_name_valid (text, name_size))
        return RH_E_MALFORMED;
    memcpy (name, text, name_size);
    name [name_size] = 0;
    rh_note_vkey_t parsed;
    if (rh_note_vkey_make (name, key [0], key + 1, &parsed) != RH_OK || parsed.id != id)
        return RH_E_MALFORMED;
    *vkey = parsed;
    return RH_OK;
}

int
rh_note_vkey_format (const rh_note_vkey_t *vkey, char *out, size_t out_size)
{
    assert (vkey && out);
    uint8_t key [1 + RH_PUBKEY_LEN];
    key [0] = vkey->type;
    memcpy (key + 1, vkey->public_key, RH_PUBKEY_LEN);
    char b64 [sodium_base64_ENCODED_LEN (sizeof key, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64 (b64, sizeof b64, key, sizeof key, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf (out, out_size, "%s+%08" PRIx32 "+%s", vkey->name, vkey->id, b64);
    return n < 0 || (size_t) n >= out_size ? -1 : 0;
}

//  --------------------------------------------------------------------------
//  Signed notes

rh_note_t *
rh_note_new (const char *text, size_t size)
{
    assert (text);
    if (size == 0 || size > RH_NOTE_MAX_SIZE || text [size - 1] != '\n'
        || !s_text_valid ((const uint8_t *) text, size))
        return NULL;
    rh_note_t *self = calloc (1, sizeof *self);
    if (!self || !(self->text = malloc (size))) {
        free (self);
        return NULL;
    }
    memcpy (self->text, text, size);
    self->text_size = size;
    return self;
}

void
rh_note_destroy (rh_note_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        rh_note_t *self = *self_p;
        for (size_t i = 0; i < self->count; i++)
            s_line_free (&self->lines [i]);
        free (self->text);
        free (self);
        *self_p = NULL;
    }
}

rh_rc_t
rh_note_parse (const uint8_t *data, size_t size, rh_note_t **note_p)
{
    assert (data || size == 0);
    assert (note_p);
    *note_p = NULL;
    if (size > RH_NOTE_MAX_SIZE)
        return RH_E_TOO_LARGE;
    if (size < 3 || data [size - 1] != '\n' || !s_text_valid (data, size))
        return RH_E_MALFORMED;
    //  The text ends at the last blank line: find the last "\n\n".
    size_t split = size - 1;
    while (split > 0 && !(data [split - 1] == '\n' && data [split] == '\n'))
        split--;
    if (split == 0)
        return RH_E_MALFORMED;
    rh_note_t *self = rh_note_new ((const char *) data, split);
    if (!self)
        return RH_E_NOMEM;
    rh_rc_t rc = s_parse_lines (data + split + 1, size - split - 1, self->lines,
                                RH_NOTE_MAX_SIGNATURES, &self->count);
    if (rc != RH_OK) {
        rh_note_destroy (&self);
        return rc;
    }
    *note_p = self;
    return RH_OK;
}

const char *
rh_note_text (const rh_note_t *self, size_t *size)
{
    assert (self && size);
    *size = self->text_size;
    return self->text;
}

size_t
rh_note_signatures (const rh_note_t *self)
{
    assert (self);
    return self->count;
}

int
rh_note_signature (const rh_note_t *self, size_t i, const char **name, uint32_t *id,
                   const uint8_t **signature, size_t *signature_size)
{
    assert (self);
    if (i >= self->count)
        return -1;
    if (name)
        *name = self->lines [i].name;
    if (id)
        *id = self->lines [i].id;
    if (signature)
        *signature = self->lines [i].signature;
    if (signature_size)
        *signature_size = self->lines [i].size;
    return 0;
}

rh_rc_t
rh_note_add_lines (rh_note_t *self, const uint8_t *data, size_t size)
{
    assert (self && (data || size == 0));
    if (size > RH_NOTE_MAX_SIZE)
        return RH_E_TOO_LARGE;
    size_t added = 0;
    rh_rc_t rc = s_parse_lines (data, size, self->lines + self->count,
                                RH_NOTE_MAX_SIGNATURES - self->count, &added);
    if (rc == RH_OK)
        self->count += added;
    return rc;
}

//  Appends a line made here (name checked by the caller, signature of size bytes after id).
static int
s_append (rh_note_t *self, const char *name, uint32_t id, const uint8_t *signature, size_t size)
{
    if (self->count == RH_NOTE_MAX_SIGNATURES)
        return -1;
    s_line_t *line = &self->lines [self->count];
    line->name = strdup (name);
    line->signature = malloc (size);
    if (!line->name || !line->signature) {
        s_line_free (line);
        return -1;
    }
    memcpy (line->signature, signature, size);
    line->size = size;
    line->id = id;
    self->count++;
    return 0;
}

int
rh_note_sign (rh_note_t *self, const char *name, const uint8_t secret [RH_NOTE_SECRET_LEN])
{
    assert (self && name && secret);
    if (!rh_note_name_valid (name))
        return -1;
    uint8_t signature [RH_SIG_LEN];
    if (crypto_sign_detached (signature, NULL, (const uint8_t *) self->text, self->text_size,
                              secret)
        != 0)
        return -1;
    //  libsodium's secret key ends with the public key.
    uint32_t id = rh_note_key_id (name, RH_NOTE_TYPE_ED25519, secret + 32);
    return s_append (self, name, id, signature, sizeof signature);
}

int
rh_note_cosignature_message (const char *text, size_t text_size, uint64_t timestamp,
                             uint8_t **message, size_t *message_size)
{
    assert (text && message && message_size);
    char header [64];
    int n = snprintf (header, sizeof header, S_COSIG_V1 "time %" PRIu64 "\n", timestamp);
    if (n < 0 || (size_t) n >= sizeof header)
        return -1;
    uint8_t *buffer = malloc ((size_t) n + text_size);
    if (!buffer)
        return -1;
    memcpy (buffer, header, (size_t) n);
    memcpy (buffer + n, text, text_size);
    *message = buffer;
    *message_size = (size_t) n + text_size;
    return 0;
}

int
rh_note_cosign (rh_note_t *self, const char *name, const uint8_t secret [RH_NOTE_SECRET_LEN],
                uint64_t timestamp)
{
    assert (self && name && secret);
    if (!rh_note_name_valid (name) || timestamp > (uint64_t) INT64_MAX)
        return -1;
    uint8_t *message = NULL;
    size_t message_size = 0;
    if (rh_note_cosignature_message (self->text, self->text_size, timestamp, &message,
                                     &message_size)
        != 0)
        return -1;
    uint8_t cosig [RH_NOTE_COSIG_LEN];
    s_put_be64 (cosig, timestamp);
    int rc = crypto_sign_detached (cosig + 8, NULL, message, message_size, secret);
    free (message);
    if (rc != 0)
        return -1;
    uint32_t id = rh_note_key_id (name, RH_NOTE_TYPE_COSIGNATURE, secret + 32);
    return s_append (self, name, id, cosig, sizeof cosig);
}

int
rh_note_line (const rh_note_t *self, size_t i, char *out, size_t out_size)
{
    assert (self && out);
    if (i >= self->count)
        return -1;
    const s_line_t *line = &self->lines [i];
    size_t raw_size = 4 + line->size;
    uint8_t *raw = malloc (raw_size);
    size_t b64_size = sodium_base64_ENCODED_LEN (raw_size, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc (b64_size);
    int n = -1;
    if (raw && b64) {
        s_put_be32 (raw, line->id);
        memcpy (raw + 4, line->signature, line->size);
        sodium_bin2base64 (b64, b64_size, raw, raw_size, sodium_base64_VARIANT_ORIGINAL);
        n = snprintf (out, out_size, S_DASH "%s %s\n", line->name, b64);
        if (n < 0 || (size_t) n >= out_size)
            n = -1;
    }
    free (raw);
    free (b64);
    return n;
}

int
rh_note_encode (const rh_note_t *self, char **out, size_t *size)
{
    assert (self && out && size);
    //  Every line is bounded: dash, name, space, base64 of the largest signature, newline.
    size_t line_max = S_DASH_LEN + RH_NOTE_MAX_NAME + 1 + S_MAX_B64 + 2;
    size_t cap = self->text_size + 1 + self->count * line_max + 1;
    char *buffer = malloc (cap);
    if (!buffer)
        return -1;
    memcpy (buffer, self->text, self->text_size);
    size_t used = self->text_size;
    buffer [used++] = '\n';
    for (size_t i = 0; i < self->count; i++) {
        int n = rh_note_line (self, i, buffer + used, cap - used);
        if (n < 0) {
            free (buffer);
            return -1;
        }
        used += (size_t) n;
    }
    buffer [used] = 0;
    *out = buffer;
    *size = used;
    return 0;
}

//  Checks one line against the key it names. Sets *timestamp for a cosignature.
static bool
s_line_verifies (const rh_note_t *self, const s_line_t *line, const rh_note_vkey_t *key,
                 uint64_t *timestamp)
{
    if (key->type == RH_NOTE_TYPE_ED25519)
        return line->size == RH_SIG_LEN
               && crypto_sign_verify_detached (line->signature, (const uint8_t *) self->text,
                                               self->text_size, key->public_key)
                      == 0;
    if (key->type != RH_NOTE_TYPE_COSIGNATURE || line->size != RH_NOTE_COSIG_LEN)
        return false;
    uint64_t time = s_be64 (line->signature);
    if (time > (uint64_t) INT64_MAX)
        return false;
    uint8_t *message = NULL;
    size_t message_size = 0;
    if (rh_note_cosignature_message (self->text, self->text_size, time, &message, &message_size)
        != 0)
        return false;
    bool ok =
        crypto_sign_verify_detached (line->signature + 8, message, message_size, key->public_key)
        == 0;
    free (message);
    *timestamp = time;
    return ok;
}

rh_rc_t
rh_note_verify (const rh_note_t *self, const rh_note_vkey_t *keys, size_t count, size_t *verified,
                uint64_t *timestamps)
{
    assert (self && (keys || count == 0) && verified);
    *verified = 0;
    size_t good = 0;
    for (size_t k = 0; k < count; k++) {
        bool seen = false;
        uint64_t time = 0;
        for (size_t i = 0; i < self->count; i++) {
            const s_line_t *line = &self->lines [i];
            if (line->id != keys [k].id || strcmp (line->name, keys [k].name) != 0)
                continue;  //  not this key's: ignored, as the spec requires
            if (!s_line_verifies (self, line, &keys [k], &time))
                return RH_E_SIG;  //  a known key's line that fails spoils the whole note
            seen = true;
        }
        if (timestamps)
            timestamps [k] = seen ? time : 0;
        if (seen)
            good++;
    }
    *verified = good;
    return RH_OK;
}

//  --------------------------------------------------------------------------
//  Checkpoints

rh_rc_t
rh_note_checkpoint_parse (const char *text, size_t size, rh_note_checkpoint_t *checkpoint)
{
    assert ((text || size == 0) && checkpoint);
    if (size > RH_NOTE_MAX_SIZE)
        return RH_E_TOO_LARGE;
    if (size == 0 || text [size - 1] != '\n' || !s_text_valid ((const uint8_t *) text, size))
        return RH_E_MALFORMED;
    rh_note_checkpoint_t parsed;
    memset (&parsed, 0, sizeof parsed);
    const char *p = text, *end = text + size;
    size_t line = 0;
    while (p < end) {
        const char *eol = memchr (p, '\n', (size_t) (end - p));
        size_t length = (size_t) (eol - p);  //  a newline ends the text, so eol is set
        if (length == 0)
            return RH_E_MALFORMED;  //  no line of a checkpoint may be empty
        if (line == 0) {
            if (length > RH_NOTE_MAX_NAME)
                return RH_E_TOO_LARGE;
            memcpy (parsed.origin, p, length);
            parsed.origin [length] = 0;
        }
        else if (line == 1) {
            if (!s_parse_u64 (p, length, &parsed.size))
                return RH_E_MALFORMED;
        }
        else if (line == 2) {
            if (!s_base64_hash (p, length, parsed.root))
                return RH_E_MALFORMED;
        }
        else if (++parsed.extensions > RH_NOTE_MAX_EXTENSIONS)
            return RH_E_TOO_LARGE;
        line++;
        p = eol + 1;
    }
    if (line < 3)
        return RH_E_MALFORMED;
    *checkpoint = parsed;
    return RH_OK;
}

int
rh_note_checkpoint_format (const char *origin, uint64_t size, const uint8_t root [RH_DIGEST_LEN],
                           char *out, size_t out_size)
{
    assert (origin && root && out);
    size_t origin_size = strnlen (origin, RH_NOTE_MAX_NAME + 1);
    if (origin_size == 0 || origin_size > RH_NOTE_MAX_NAME
        || !s_text_valid ((const uint8_t *) origin, origin_size) || strchr (origin, '\n'))
        return -1;
    char b64 [S_B64_HASH + 1];
    sodium_bin2base64 (b64, sizeof b64, root, RH_DIGEST_LEN, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf (out, out_size, "%s\n%" PRIu64 "\n%s\n", origin, size, b64);
    return n < 0 || (size_t) n >= out_size ? -1 : n;
}

//  --------------------------------------------------------------------------
//  The broker's checkpoint as a C2SP checkpoint

rh_note_t *
rh_note_from_checkpoint (const char *origin, const rh_checkpoint_t *checkpoint)
{
    assert (origin && checkpoint);
    char text [RH_NOTE_MAX_NAME + 128];
    int n =
        rh_note_checkpoint_format (origin, checkpoint->size, checkpoint->root, text, sizeof text);
    return n < 0 ? NULL : rh_note_new (text, (size_t) n);
}

int
rh_note_sign_with (rh_note_t *self, const char *name, rh_signer_t *signer)
{
    assert (self && name && signer);
    uint8_t signature [RH_SIG_LEN];
    if (!rh_note_name_valid (name)
        || rh_signer_sign (signer, (const uint8_t *) self->text, self->text_size, signature) != 0)
        return -1;
    uint32_t id = rh_note_key_id (name, RH_NOTE_TYPE_ED25519, rh_signer_public_key (signer));
    return s_append (self, name, id, signature, sizeof signature);
}

rh_rc_t
rh_note_checkpoint_cosigned (const rh_checkpoint_t *checkpoint, const rh_note_vkey_t *keys,
                             size_t count, size_t *cosigned)
{
    assert (checkpoint && (keys || count == 0) && cosigned);
    *cosigned = 0;
    size_t lines = strnlen (checkpoint->cosignatures, sizeof checkpoint->cosignatures);
    if (!checkpoint->origin [0] || lines == 0 || lines == sizeof checkpoint->cosignatures)
        return RH_OK;
    rh_note_t *note = rh_note_from_checkpoint (checkpoint->origin, checkpoint);
    if (!note)
        return RH_E_MALFORMED;
    rh_rc_t rc = rh_note_add_lines (note, (const uint8_t *) checkpoint->cosignatures, lines);
    if (rc == RH_OK)
        rc = rh_note_verify (note, keys, count, cosigned, NULL);
    rh_note_destroy (&note);
    return rc == RH_E_TOO_LARGE || rc == RH_E_NOMEM ? RH_E_MALFORMED : rc;
}

//  --------------------------------------------------------------------------
//  tlog-witness add-checkpoint

rh_rc_t
rh_note_request_parse (const uint8_t *data, size_t size, uint64_t *old_size,
                       uint8_t (*proof) [RH_DIGEST_LEN], size_t *proof_count, rh_note_t **note_p,
                       rh_note_checkpoint_t *checkpoint)
{
    assert ((data || size == 0) && old_size && proof && proof_count && note_p && checkpoint);
    *note_p = NULL;
    if (size > RH_NOTE_MAX_SIZE)
        return RH_E_TOO_LARGE;
    const char *p = (const char *) data, *end = p + size;
    const char *eol = size ? memchr (p, '\n', size) : NULL;
    if (!eol || eol - p < 5 || memcmp (p, "old ", 4) != 0
        || !s_parse_u64 (p + 4, (size_t) (eol - p - 4), old_size))
        return RH_E_MALFORMED;
    p = eol + 1;
    size_t count = 0;
    while (true) {
        eol = p < end ? memchr (p, '\n', (size_t) (end - p)) : NULL;
        if (!eol)
            return RH_E_MALFORMED;
        if (eol == p)
            break;  //  the empty line before the checkpoint
        if (count == RH_NOTE_MAX_PROOF)
            return RH_E_TOO_LARGE;
        if (!s_base64_hash (p, (size_t) (eol - p), proof [count]))
            return RH_E_MALFORMED;
        count++;
        p = eol + 1;
    }
    p = eol + 1;
    rh_note_t *note = NULL;
    rh_rc_t rc = rh_note_parse ((const uint8_t *) p, (size_t) (end - p), &note);
    if (rc != RH_OK)
        return rc;
    rc = rh_note_checkpoint_parse (note->text, note->text_size, checkpoint);
    if (rc != RH_OK) {
        rh_note_destroy (&note);
        return rc;
    }
    *proof_count = count;
    *note_p = note;
    return RH_OK;
}

int
rh_note_request_encode (uint64_t old_size, const uint8_t (*proof) [RH_DIGEST_LEN],
                        size_t proof_count, const rh_note_t *note, char **out, size_t *size)
{
    assert ((proof || proof_count == 0) && note && out && size);
    if (proof_count > RH_NOTE_MAX_PROOF)
        return -1;
    char *encoded = NULL;
    size_t encoded_size = 0;
    if (rh_note_encode (note, &encoded, &encoded_size) != 0)
        return -1;
    size_t cap = 32 + proof_count * (S_B64_HASH + 1) + 1 + encoded_size + 1;
    char *buffer = malloc (cap);
    if (!buffer) {
        free (encoded);
        return -1;
    }
    size_t used = (size_t) snprintf (buffer, cap, "old %" PRIu64 "\n", old_size);
    for (size_t i = 0; i < proof_count; i++) {
        sodium_bin2base64 (buffer + used, S_B64_HASH + 1, proof [i], RH_DIGEST_LEN,
                           sodium_base64_VARIANT_ORIGINAL);
        used += S_B64_HASH;
        buffer [used++] = '\n';
    }
    buffer [used++] = '\n';
    memcpy (buffer + used, encoded, encoded_size + 1);
    used += encoded_size;
    free (encoded);
    *out = buffer;
    *size = used;
    return 0;
}
