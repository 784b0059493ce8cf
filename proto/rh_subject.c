/*  =========================================================================
    rh_subject - pseudonymous subject keys for repeat-referral detection
    =========================================================================
*/
#include "rh_proto.h"

#define RH_SUBJECT_DOMAIN "rhannu.subject.v1"
#define S_MAX_TOKENS      16
#define S_MAX_TOKEN       64

int
rh_subject_load_secret (const char *path, uint8_t secret [RH_SUBJECT_KEY_LEN])
{
    uint8_t *text = NULL;
    size_t size = 0;
    if (rh_file_read_secret (path, 256, &text, &size) != 0) {
        rh_log_error ("subject", "cannot read the regional subject secret %s: %s", path,
                      errno == EPERM ? "mode is wider than 0600" : strerror (errno));
        return -1;
    }
    while (size > 0 && (text [size - 1] == '\n' || text [size - 1] == '\r'))
        size--;
    size_t got = 0;
    int rc = size == RH_SUBJECT_KEY_LEN * 2
                     && sodium_hex2bin (secret, RH_SUBJECT_KEY_LEN, (const char *) text, size, NULL,
                                        &got, NULL)
                            == 0
                     && got == RH_SUBJECT_KEY_LEN
                 ? 0
                 : -1;
    sodium_memzero (text, size);
    free (text);
    if (rc != 0)
        rh_log_error ("subject", "%s must hold 64 hexadecimal digits", path);
    return rc;
}

//  Folds one UTF-8 letter to an ASCII lower-case letter, or 0 for anything else. Covers the
//  accents of Welsh and the Latin-1 letters people's names commonly carry.
static char
s_fold (const unsigned char *text, size_t *used)
{
    static const struct {
        unsigned code;
        char base;
    } accents [] = {
        { 0xe0, 'a' }, { 0xe1, 'a' }, { 0xe2, 'a' }, { 0xe3, 'a' },  { 0xe4, 'a' },  { 0xe5, 'a' },
        { 0xe7, 'c' }, { 0xe8, 'e' }, { 0xe9, 'e' }, { 0xea, 'e' },  { 0xeb, 'e' },  { 0xec, 'i' },
        { 0xed, 'i' }, { 0xee, 'i' }, { 0xef, 'i' }, { 0xf1, 'n' },  { 0xf2, 'o' },  { 0xf3, 'o' },
        { 0xf4, 'o' }, { 0xf5, 'o' }, { 0xf6, 'o' }, { 0xf9, 'u' },  { 0xfa, 'u' },  { 0xfb, 'u' },
        { 0xfc, 'u' }, { 0xfd, 'y' }, { 0xff, 'y' }, { 0x175, 'w' }, { 0x177, 'y' },
    };
    if (text [0] < 0x80) {
        *used = 1;
        return isalpha (text [0]) ? (char) tolower (text [0]) : 0;
    }
    if ((text [0] & 0xe0) == 0xc0 && (text [1] & 0xc0) == 0x80) {
        *used = 2;
        unsigned code = ((text [0] & 0x1fu) << 6) | (text [1] & 0x3fu);
        if (code >= 0xc0 && code <= 0xde && code != 0xd7)
            code += 0x20;  //  upper-case Latin-1 letters fold onto lower case
        if (code == 0x174 || code == 0x176)
            code += 1;  //  Ŵ Ŷ
        for (size_t i = 0; i < sizeof accents / sizeof accents [0]; i++)
            if (accents [i].code == code)
                return accents [i].base;
        return 0;
    }
    *used = 1;
    while (text [*used] && (text [*used] & 0xc0) == 0x80)
        (*used)++;
    return 0;
}

static int
s_compare (const void *a, const void *b)
{
    return strcmp ((const char *) a, (const char *) b);
}

int
rh_subject_identity (const char *nhs_number, const char *name, const char *date_of_birth,
                     char *text, size_t size)
{
    char digits [16];
    size_t count = 0;
    for (const char *c = nhs_number ? nhs_number : ""; *c && count < sizeof digits - 1; c++)
        if (isdigit ((unsigned char) *c))
            digits [count++] = *c;
    digits [count] = 0;
    if (count == 10)
        return snprintf (text, size, "nhs:%s", digits) < (int) size ? 0 : -1;
    if (!name || !*name || !date_of_birth || strlen (date_of_birth) != 10)
        return -1;
    char tokens [S_MAX_TOKENS][S_MAX_TOKEN];
    size_t token_count = 0, length = 0;
    const unsigned char *c = (const unsigned char *) name;
    while (*c) {
        size_t used = 1;
        char letter = s_fold (c, &used);
        c += used;
        if (letter && token_count < S_MAX_TOKENS && length < S_MAX_TOKEN - 1)
            tokens [token_count][length++] = letter;
        else if (!letter && length) {
            tokens [token_count++][length] = 0;
            length = 0;
        }
    }
    if (length && token_count < S_MAX_TOKENS)
        tokens [token_count++][length] = 0;
    if (token_count == 0)
        return -1;
    qsort (tokens, token_count, sizeof tokens [0], s_compare);
    int used = snprintf (text, size, "person:");
    for (size_t i = 0; i < token_count && used > 0 && (size_t) used < size; i++)
        used += snprintf (text + used, size - (size_t) used, "%s%s", i ? " " : "", tokens [i]);
    if (used > 0 && (size_t) used < size)
        used += snprintf (text + used, size - (size_t) used, "|%s", date_of_birth);
    return used > 0 && (size_t) used < size ? 0 : -1;
}

int
rh_subject_key (const uint8_t secret [RH_SUBJECT_KEY_LEN], const char *identity,
                uint8_t key [RH_SUBJECT_KEY_LEN])
{
    crypto_auth_hmacsha256_state state;
    if (crypto_auth_hmacsha256_init (&state, secret, RH_SUBJECT_KEY_LEN) != 0)
        return -1;
    crypto_auth_hmacsha256_update (&state, (const uint8_t *) RH_SUBJECT_DOMAIN,
                                   sizeof RH_SUBJECT_DOMAIN);  //  with its zero byte
    crypto_auth_hmacsha256_update (&state, (const uint8_t *) identity, strlen (identity));
    crypto_auth_hmacsha256_final (&state, key);
    sodium_memzero (&state, sizeof state);
    return 0;
}
