package core

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"arrowhead/driver/internal/decide"
	"arrowhead/driver/internal/gateway"
	"arrowhead/driver/internal/state"
)

// placeNew chooses the storage pool of a new volume (-o protectionDomain / -o pool, else the
// config's) and refuses, before anything is created, an unknown pool (naming the pools of that
// protection domain) or a size the pool's free capacity cannot hold (with the numbers). It
// records the pool's and protection domain's names in o.
func (d *Driver) placeNew(ctx context.Context, name string, o *decide.Options, sizeGB int) (decide.PoolRef, error) {
	if o.ProtectionDomain == "" {
		o.ProtectionDomain = d.cfg.ProtectionDomain
	}
	if o.Pool == "" {
		o.Pool = d.cfg.Pool
	}
	pools, err := d.gw.ListPools(ctx)
	if err != nil {
		return decide.PoolRef{}, gwErr(name, "ProtectionDomain/StoragePool instances", err)
	}
	pool, err := decide.PickPool(pools, o.ProtectionDomain, o.Pool)
	if err != nil {
		return decide.PoolRef{}, fmt.Errorf("volume %s: refused: %w", name, err)
	}
	avail, err := d.gw.PoolAvailableKB(ctx, pool.ID)
	if err != nil {
		return decide.PoolRef{}, gwErr(name, "StoragePool Statistics", err)
	}
	if err := decide.CheckFits(sizeGB, o.Thin, avail, pool.Name); err != nil {
		return decide.PoolRef{}, fmt.Errorf("volume %s: refused, nothing created: %w", name, err)
	}
	return pool, nil
}

// createSnapshot makes name a ScaleIO snapshot of the Docker volume o.SnapshotOf and prepares it
// (mapped here, its file system mounted and renamed in its metadata, released), so that it is
// usable on any host. When the source is mounted on this host its file system is frozen
// (fsfreeze) for the instant of the snapshot, which then holds a clean file system; mounted on
// another host, the snapshot is crash-consistent, as ScaleIO takes it (the file system replays
// its journal at the first mount).
func (d *Driver) createSnapshot(ctx context.Context, name string, v *state.Volume, o decide.Options) error {
	if o.SnapshotOf == name {
		return fmt.Errorf("volume %s: snapshotOf names the volume itself: give another volume", name)
	}
	srcSIO := d.namer.ScaleIOName(o.SnapshotOf)
	src, err := d.gw.FindVolume(ctx, srcSIO)
	if errors.Is(err, gateway.ErrNotFound) {
		return fmt.Errorf("volume %s: snapshotOf=%s: no such volume (no ScaleIO volume %s); `docker volume ls` lists the driver's volumes", name, o.SnapshotOf, srcSIO)
	}
	if err != nil {
		return gwErr(name, "queryIdByKey "+srcSIO, err)
	}
	id, frozen, err := d.snapshotOf(ctx, o.SnapshotOf, src, v.ScaleIOName)
	if err != nil {
		return gwErr(name, "snapshotVolumes", err)
	}
	d.log.Info("snapshot taken", "volume", name, "scaleioName", v.ScaleIOName, "volumeId", id, "snapshotOf", o.SnapshotOf, "sourceId", src.ID, "frozenHere", frozen)
	return d.prepareNew(ctx, name, v, id, o)
}

// snapshotOf takes the snapshot, freezing the source's file system around it when the source is
// mounted on this host (under the source's lock, so it is not unmounted meanwhile). frozen says
// whether it was.
func (d *Driver) snapshotOf(ctx context.Context, srcName string, src gateway.Volume, snapName string) (id string, frozen bool, err error) {
	defer d.lock(srcName)()
	sv := d.lookup(srcName)
	if sv != nil && sv.Mounted {
		dir := d.mountDir(sv.ScaleIOName)
		if err := d.host.Freeze(ctx, dir); err != nil {
			return "", false, fmt.Errorf("freeze the source's file system at %s: %w", dir, err)
		}
		frozen = true
		defer func() {
			if terr := d.host.Thaw(context.WithoutCancel(ctx), dir); terr != nil {
				err = errors.Join(err, fmt.Errorf("THAW FAILED, writes to %s are blocked until `fsfreeze -u %s`: %w", srcName, dir, terr))
			}
		}()
	}
	id, err = d.gw.Snapshot(ctx, src.ID, snapName)
	return id, frozen, err
}

// snapshotMeta is the metadata of a snapshot named name, from its source's: same file system,
// mode and owner, the QoS asked at its create, and where it came from.
func snapshotMeta(src Meta, name string, o decide.Options) Meta {
	m := Meta{DockerName: name, Options: src.Options}
	m.Options.SnapshotOf = o.SnapshotOf
	m.Options.IOPS, m.Options.BandwidthKBps = o.IOPS, o.BandwidthKBps
	m.Options.Takeover = false
	return m
}

// describePlacement adds the volume's storage pool, protection domain and tier (the pool's
// mediaType) to an inspect status.
func (d *Driver) describePlacement(ctx context.Context, vol gateway.Volume, status map[string]any) error {
	pools, err := d.gw.ListPools(ctx)
	if err != nil {
		return err
	}
	status["pool"] = "unknown (id " + vol.PoolID + ")"
	for _, p := range pools {
		if p.ID == vol.PoolID {
			status["pool"], status["protectionDomain"] = p.Name, p.ProtectionDomain
			status["tier"] = p.MediaType
			if p.MediaType == "" {
				status["tier"] = "not set on the pool (mediaType)"
			}
		}
	}
	return nil
}

// describeLineage adds where a snapshot comes from and the volume's own snapshots, by Docker
// name where the driver knows it, to an inspect status. The source is ancestorVolumeId; once the
// source is removed ScaleIO moves its snapshots up to its own ancestor (none for a volume), so
// the snapshot's metadata, as this host last read it (recorded), tells what it came from.
func (d *Driver) describeLineage(ctx context.Context, vol gateway.Volume, recorded string, status map[string]any) error {
	vols, err := d.gw.ListVolumes(ctx)
	if err != nil {
		return err
	}
	var snaps []string
	status["snapshotOf"] = "none (a volume of its own)"
	switch {
	case vol.AncestorID != "":
		status["snapshotOf"] = fmt.Sprintf("ScaleIO volume %s (removed since)", vol.AncestorID)
	case recorded != "":
		status["snapshotOf"] = recorded + " (removed since: the snapshot is a volume of its own now)"
	}
	for _, o := range vols {
		switch {
		case vol.AncestorID != "" && o.ID == vol.AncestorID:
			status["snapshotOf"] = fmt.Sprintf("%s (ScaleIO volume %s, id %s)", d.dockerNameOf(o.Name), o.Name, o.ID)
		case vol.AncestorID == "" && recorded != "" && o.Name == d.namer.ScaleIOName(recorded):
			status["snapshotOf"] = fmt.Sprintf("%s (ScaleIO volume %s, id %s; not its ancestor in ScaleIO any more)", recorded, o.Name, o.ID)
		}
		if o.AncestorID == vol.ID {
			snaps = append(snaps, d.dockerNameOf(o.Name))
		}
	}
	if len(snaps) > 0 {
		sort.Strings(snaps)
		status["snapshots"] = strings.Join(snaps, ", ")
	}
	return nil
}

// dockerNameOf returns the Docker name of a ScaleIO volume name: from the state, from the name
// itself (Prefix+N), or the ScaleIO name when neither tells (a derived name seen nowhere here).
func (d *Driver) dockerNameOf(sio string) string {
	d.mu.Lock()
	for n, v := range d.st.Volumes {
		if v.ScaleIOName == sio {
			d.mu.Unlock()
			return n
		}
	}
	d.mu.Unlock()
	if n, ok := d.namer.DockerName(sio); ok {
		return n
	}
	return sio
}

// snapshotPoll is how often snapshotFsType asks blkid again.
var snapshotPoll = 500 * time.Millisecond

// snapshotFsType reads a new snapshot's file system type, asking again until DeviceWait ends:
// a snapshot is never formatted (that would wipe the copy it is). An SDC may show the device
// before its data (the emulator's copies the source's within 2 s); a real ScaleIO snapshot
// has its source's blocks at once, so the first answer is the one.
func (d *Driver) snapshotFsType(ctx context.Context, name, dev string) (string, error) {
	wctx, cancel := context.WithTimeout(ctx, d.cfg.DeviceWait)
	defer cancel()
	for {
		fs, err := d.host.FsType(wctx, dev)
		if err != nil || fs != "" {
			return fs, err
		}
		select {
		case <-wctx.Done():
			return "", fmt.Errorf("the snapshot's device %s shows no file system after %v (its source has none?): a snapshot is never formatted", dev, d.cfg.DeviceWait)
		case <-time.After(snapshotPoll):
		}
	}
}
