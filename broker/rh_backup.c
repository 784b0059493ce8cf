/*  =========================================================================
    rh_backup - consistent copies of a broker's store, taken while it runs
    =========================================================================
*/
#include "rh_broker_classes.h"

//  Opens the store in dir (after a copy: LevelDB replays the copied logs into tables and drops
//  a last record that was cut mid-write, as after a crash) and reads the audit log's size and
//  root. Returns 0, or -1 (logged).
static int
s_read_info (const char *dir, rh_backup_info_t *info)
{
    memset (info, 0, sizeof *info);
    rh_db_t *db = rh_db_open (dir);
    rh_audit_t *audit = db ? rh_audit_new (db) : NULL;
    int rc = audit ? 0 : -1;
    uint8_t root [RH_DIGEST_LEN];
    if (audit && (info->audit_size = rh_audit_size (audit)) > 0) {
        if (rh_audit_root (db, info->audit_size, root) == 0)
            sodium_bin2hex (info->audit_root, sizeof info->audit_root, root, sizeof root);
        else
            rc = -1;
    }
    if (rc != 0)
        rh_log_error ("backup", "the audit log in %s cannot be read", dir);
    rh_audit_destroy (&audit);
    rh_db_destroy (&db);
    return rc;
}

int
rh_backup_take (const char *data_dir, const char *dest, rh_backup_info_t *info)
{
    assert (data_dir && dest && info);
    int64_t started = rh_time_now_ms ();
    if (rh_db_copy_live (data_dir, dest) != 0 || s_read_info (dest, info) != 0)
        return -1;
    char taken [32], path [PATH_MAX];
    json_t *manifest =
        json_pack ("{s:i, s:s, s:s, s:I, s:s}", "format", 1, "taken",
                   rh_time_format (started, taken, sizeof taken), "source", data_dir, "audit_size",
                   (json_int_t) info->audit_size, "audit_root", info->audit_root);
    char *text = manifest ? json_dumps (manifest, JSON_INDENT (2) | JSON_PRESERVE_ORDER) : NULL;
    int rc = text && rh_file_path (path, sizeof path, "%s/%s", dest, RH_BACKUP_MANIFEST) == 0
                     && rh_file_write_atomic (path, text, strlen (text), 0600) == 0
                 ? 0
                 : -1;
    if (rc != 0)
        rh_log_error ("backup", "cannot write %s/%s: %s", dest, RH_BACKUP_MANIFEST,
                      strerror (errno));
    free (text);
    json_decref (manifest);
    return rc;
}

//  Reads a backup's manifest. Returns 0, or -1 (logged).
static int
s_read_manifest (const char *backup, rh_backup_info_t *info)
{
    memset (info, 0, sizeof *info);
    char path [PATH_MAX];
    json_error_t error;
    json_t *manifest = rh_file_path (path, sizeof path, "%s/%s", backup, RH_BACKUP_MANIFEST) == 0
                           ? json_load_file (path, 0, &error)
                           : NULL;
    json_int_t size = -1;
    const char *root = NULL;
    int rc =
        manifest
                && json_unpack (manifest, "{s:I, s:s}", "audit_size", &size, "audit_root", &root)
                       == 0
                && size >= 0 && strlen (root) < sizeof info->audit_root
            ? 0
            : -1;
    if (rc == 0) {
        info->audit_size = (uint64_t) size;
        strcpy (info->audit_root, root);
    }
    else
        rh_log_error ("backup", "%s has no readable %s: not a backup", backup, RH_BACKUP_MANIFEST);
    json_decref (manifest);
    return rc;
}

int
rh_backup_restore (const char *backup, const char *data_dir, rh_backup_info_t *info)
{
    assert (backup && data_dir && info);
    rh_backup_info_t expected;
    if (s_read_manifest (backup, &expected) != 0 || rh_db_copy_live (backup, data_dir) != 0
        || s_read_info (data_dir, info) != 0)
        return -1;
    if (info->audit_size != expected.audit_size || strcmp (info->audit_root, expected.audit_root)) {
        rh_log_error ("backup",
                      "the restored audit log (%" PRIu64 " records) is not the one the backup "
                      "recorded (%" PRIu64 "): the backup was changed; %s is not to be used",
                      info->audit_size, expected.audit_size, data_dir);
        return -1;
    }
    return 0;
}
