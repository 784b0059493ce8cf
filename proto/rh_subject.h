/*  =========================================================================
    rh_subject - pseudonymous subject keys for repeat-referral detection

    key = HMAC-SHA256 (regional secret, "rhannu.subject.v1" 0x00 || identity)

    The regional secret is shared by the region's agents and never by the
    broker, so the broker can count referrals about one person without
    holding anything that identifies them. The identity string is:
      "nhs:" + the NHS number's ten digits                  (when given), else
      "person:" + name tokens + "|" + date of birth          (both needed)
    where name tokens are the name's letters folded to lower case, accents
    removed (â→a, ŵ→w, ŷ→y ...), split at anything else and sorted, joined
    by single spaces: "Siân  JONES-Evans" and "Evans, Sian Jones" both give
    "evans jones sian". Places, groups and unknown identities get no key.
    =========================================================================
*/
#ifndef RH_SUBJECT_H_INCLUDED
#define RH_SUBJECT_H_INCLUDED

//  Loads a regional secret: a file of 64 hex digits (a trailing newline allowed), mode 0600.
//  Returns 0 or -1 (logged).
int rh_subject_load_secret (const char *path, uint8_t secret [RH_SUBJECT_KEY_LEN]);

//  Writes the identity string of a person into text. Returns 0, or -1 when the identifiers are
//  not enough (no NHS number, and not both a name and a date of birth).
int rh_subject_identity (const char *nhs_number, const char *name, const char *date_of_birth,
                         char *text, size_t size);

//  Computes the key for the identity string. Returns 0 or -1.
int rh_subject_key (const uint8_t secret [RH_SUBJECT_KEY_LEN], const char *identity,
                    uint8_t key [RH_SUBJECT_KEY_LEN]);

#endif
