/*  =========================================================================
    rh_backup - consistent copies of a broker's store, taken while it runs

    rhannu-broker backup copies the store in data/dir into a new folder
    (rh_db_copy_live: the store as a crash at one moment would have left
    it), opens the copy once so that LevelDB replays its logs into tables,
    and writes rhannu-backup.json beside the store files: when it was
    taken and the audit log's size and root in the copy. rhannu-audit
    verify accepts the folder as it is, and its root is the manifest's.
    restore copies a backup into an empty data/dir and checks that the
    audit root there is still the manifest's.
    =========================================================================
*/
#ifndef RH_BACKUP_H_INCLUDED
#define RH_BACKUP_H_INCLUDED

//  The manifest a backup folder holds beside the store files (LevelDB leaves it alone).
#define RH_BACKUP_MANIFEST "rhannu-backup.json"

//  What a backup holds: the audit log's size and root (hex; "" for an empty log).
typedef struct {
    uint64_t audit_size;
    char audit_root [RH_DIGEST_LEN * 2 + 1];
} rh_backup_info_t;

//  Copies the store in data_dir (running or not) into dest, a new or empty folder, and writes
//  the manifest. Fills info. Returns 0, or -1 (logged).
int rh_backup_take (const char *data_dir, const char *dest, rh_backup_info_t *info);

//  Copies the backup in folder backup into data_dir, which must be new or empty (no broker
//  runs on it), and checks the copy's audit root against the manifest. Fills
//  info. Returns 0, or -1 (logged).
int rh_backup_restore (const char *backup, const char *data_dir, rh_backup_info_t *info);

#endif
