#!/bin/sh
# rhannu-ha {master|backup|check} - keepalived's notify and check script for the keepalived
# alternative (keepalived.conf). Install as /usr/local/sbin/rhannu-ha and adapt the names.
# There is no fencing here: DRBD's quorum (drbd-rhannu.res) is what refuses a second primary.
set -u
RESOURCE=${RHANNU_DRBD:-rhannu}
MOUNT=${RHANNU_MOUNT:-/srv/rhannu}
DEVICE=${RHANNU_DEVICE:-/dev/drbd0}
READYZ=${RHANNU_READYZ:-http://127.0.0.1:9570/readyz}

case "${1:-}" in
    master)
        drbdadm primary "$RESOURCE" || exit 1      # refused without quorum: stay backup
        mountpoint -q "$MOUNT" || mount -o noatime "$DEVICE" "$MOUNT" || exit 1
        systemctl start rhannu-broker
        ;;
    backup)
        systemctl stop rhannu-broker
        mountpoint -q "$MOUNT" && umount "$MOUNT"
        drbdadm secondary "$RESOURCE"
        ;;
    check)
        # Only a broker that runs here and is not ready fails the check.
        systemctl is-active -q rhannu-broker || exit 0
        curl -fs -o /dev/null --max-time 3 "$READYZ"
        ;;
    *)
        echo "usage: rhannu-ha {master|backup|check}" >&2
        exit 2
        ;;
esac
