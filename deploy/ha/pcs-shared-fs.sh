#!/bin/sh
# pcs commands for a pair on a shared LUN (SAN/iSCSI, multipath) instead of DRBD: the LUN is
# visible to both nodes, mounted on one at a time by Pacemaker. Run once, on one node, after
# `pcs cluster setup rhannu broker1 broker2` (and `pcs quorum device add` for a third-site
# corosync-qnetd: see README.md). Adapt names, addresses, devices.
set -e

pcs property set stonith-enabled=true no-quorum-policy=stop

# Fencing twice over: power (IPMI) and, for a shared LUN, SCSI persistent reservations, which cut
# a hung node off the disk even if its power cannot be reached.
pcs stonith create fence-broker1 fence_ipmilan ip=10.0.1.1 username=fence \
    password_script=/etc/rhannu/fence-pass lanplus=1 pcmk_host_list=broker1
pcs stonith create fence-broker2 fence_ipmilan ip=10.0.1.2 username=fence \
    password_script=/etc/rhannu/fence-pass lanplus=1 pcmk_host_list=broker2
pcs stonith create fence-scsi fence_scsi devices=/dev/mapper/rhannu \
    pcmk_host_list="broker1 broker2" meta provides=unfencing
pcs constraint location fence-broker1 avoids broker1
pcs constraint location fence-broker2 avoids broker2
pcs stonith level add 1 broker1 fence-broker1
pcs stonith level add 2 broker1 fence-scsi
pcs stonith level add 1 broker2 fence-broker2
pcs stonith level add 2 broker2 fence-scsi

# The store, the address, the broker: a group starts in order and stops in reverse.
pcs resource create fs-rhannu ocf:heartbeat:Filesystem device=/dev/mapper/rhannu \
    directory=/srv/rhannu fstype=ext4 options=noatime --group g-rhannu
pcs resource create ip-rhannu ocf:heartbeat:IPaddr2 ip=10.0.0.50 cidr_netmask=24 \
    --group g-rhannu
pcs resource create rhannu-broker ocf:rhannu:broker config=/etc/rhannu/broker.yaml \
    user=rhannu metrics_url=http://127.0.0.1:9570 \
    op start timeout=120s op stop timeout=60s op monitor interval=10s timeout=20s \
    --group g-rhannu
pcs resource defaults update resource-stickiness=100 migration-threshold=3
