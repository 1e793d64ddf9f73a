// Package core is the volume driver's logic: it combines the pure decisions (decide), the
// gateway, the host and the persisted state into Create, Mount, Unmount, Remove, Get and List.
// The protocol adapter calls it with a bounded context per request.
package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"arrowhead/driver/internal/decide"
	"arrowhead/driver/internal/gateway"
	"arrowhead/driver/internal/host"
	"arrowhead/driver/internal/state"
)

// Gateway is what core needs of the ScaleIO gateway (gateway.Client implements it).
type Gateway interface {
	SystemID(ctx context.Context) (string, error)
	FindVolume(ctx context.Context, name string) (gateway.Volume, error)
	ListVolumes(ctx context.Context) ([]gateway.Volume, error)
	CreateVolume(ctx context.Context, name string, sizeGB int, thin bool, poolID string) (string, error)
	ListPools(ctx context.Context) ([]decide.PoolRef, error)
	PoolAvailableKB(ctx context.Context, poolID string) (int64, error)
	Snapshot(ctx context.Context, srcID, name string) (string, error)
	SetSize(ctx context.Context, volID string, sizeGB int) error
	Map(ctx context.Context, volID, sdcID string) error
	Unmap(ctx context.Context, volID, sdcID string) error
	SetLimits(ctx context.Context, volID, sdcID string, iops, bandwidthKBps int) error
	RemoveVolume(ctx context.Context, volID string) error
	ListSdcs(ctx context.Context) ([]gateway.Sdc, error)
}

// Host is what core needs of the local machine (host.Host implements it).
type Host interface {
	SdcGUID(ctx context.Context) (string, error)
	WaitDevice(ctx context.Context, systemID, volumeID string) (string, error)
	Rescan(ctx context.Context) error
	FsType(ctx context.Context, dev string) (string, error)
	Mkfs(ctx context.Context, dev, fsType string) error
	Mount(dev, target, fsType string) error
	Unmount(target string) error
	Mounts() ([]host.MountEntry, error)
	WaitDeviceBytes(ctx context.Context, dev string, want int64) error
	GrowFS(ctx context.Context, dev, dir, fsType string) error
	Freeze(ctx context.Context, dir string) error
	Thaw(ctx context.Context, dir string) error
}

// MetaFile is the name of the volume's own metadata file, in the root of its file system,
// outside the data directory that containers see. It makes the volume's settings (fsType,
// QoS, mode) follow it to every host.
const MetaFile = ".scaleio-volume.json"

// DataDir is the directory inside the volume's file system that Docker mounts into containers.
const DataDir = "data"

// Meta is the content of MetaFile.
type Meta struct {
	// DockerName is the full Docker volume name (ScaleIO names are at most 31 characters).
	DockerName string         `json:"dockerName"`
	Options    decide.Options `json:"options"`
}

// Config holds core's settings.
type Config struct {
	// Root is where volumes are mounted: <Root>/<ScaleIO name>, data in <...>/data.
	Root string
	// StatePath is the JSON state file.
	StatePath string
	// AllowTakeover takes volumes over from other hosts even when their SDC is connected
	// (plugin-wide form of -o takeover=true).
	AllowTakeover bool
	// DeviceWait bounds the wait for a mapped volume's device.
	DeviceWait time.Duration
	// ProtectionDomain and Pool are the storage pool of volumes created without -o pool /
	// -o protectionDomain (the config's protectionDomain and storagePool).
	ProtectionDomain string
	Pool             string
}

// Driver is the volume driver's core. Use New.
type Driver struct {
	gw    Gateway
	host  Host
	namer *decide.Namer
	cfg   Config
	log   *slog.Logger

	mu    sync.Mutex // guards st, locks, sdcID, systemID
	st    *state.File
	locks map[string]*sync.Mutex

	sdcID    string
	systemID string
}

// New loads the state and returns a Driver; call Recover before serving.
func New(gw Gateway, h Host, namer *decide.Namer, cfg Config, log *slog.Logger) (*Driver, error) {
	if cfg.DeviceWait == 0 {
		cfg.DeviceWait = 60 * time.Second
	}
	st, err := state.Load(cfg.StatePath)
	if err != nil {
		return nil, err
	}
	for _, name := range state.DropInvalid(st) {
		log.Warn("dropped a state record with an invalid volume name (saved by an older plugin)", "volume", name)
	}
	return &Driver{gw: gw, host: h, namer: namer, cfg: cfg, log: log, st: st, locks: map[string]*sync.Mutex{}}, nil
}

// lock serializes operations on one Docker volume name.
func (d *Driver) lock(name string) func() {
	d.mu.Lock()
	l, ok := d.locks[name]
	if !ok {
		l = &sync.Mutex{}
		d.locks[name] = l
	}
	d.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// record returns the state record of name, creating it.
func (d *Driver) record(name string) *state.Volume {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.st.Volumes[name]
	if !ok {
		v = &state.Volume{ScaleIOName: d.namer.ScaleIOName(name)}
		d.st.Volumes[name] = v
	}
	return v
}

// draft returns a copy of name's state record (a new one if there is none) that is not part of
// the state until commit: a Create or Mount that fails leaves the state, in memory and in
// stateFile, as it was. The caller holds name's lock.
func (d *Driver) draft(name string) *state.Volume {
	d.mu.Lock()
	defer d.mu.Unlock()
	if v, ok := d.st.Volumes[name]; ok {
		return v.Clone()
	}
	return &state.Volume{ScaleIOName: d.namer.ScaleIOName(name)}
}

// commit makes v name's state record and saves the state.
func (d *Driver) commit(name string, v *state.Volume) error {
	d.mu.Lock()
	d.st.Volumes[name] = v
	d.mu.Unlock()
	return d.save()
}

func (d *Driver) lookup(name string) *state.Volume {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.st.Volumes[name]
}

func (d *Driver) save() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return state.Save(d.cfg.StatePath, d.st)
}

func (d *Driver) mountDir(sio string) string { return filepath.Join(d.cfg.Root, sio) }

// DataPath is the path Docker gets for a volume: the data directory in its file system.
func (d *Driver) DataPath(sio string) string { return filepath.Join(d.mountDir(sio), DataDir) }

// mySdc returns this host's SDC id (found by GUID among the gateway's SDCs) and all SDCs.
func (d *Driver) mySdc(ctx context.Context) (string, []gateway.Sdc, error) {
	sdcs, err := d.gw.ListSdcs(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("list SDCs: %w", err)
	}
	d.mu.Lock()
	cached := d.sdcID
	d.mu.Unlock()
	if cached != "" {
		return cached, sdcs, nil
	}
	guid, err := d.host.SdcGUID(ctx)
	if err != nil {
		return "", nil, err
	}
	for _, s := range sdcs {
		if strings.EqualFold(s.GUID, guid) {
			d.mu.Lock()
			d.sdcID = s.ID
			d.mu.Unlock()
			return s.ID, sdcs, nil
		}
	}
	return "", nil, fmt.Errorf("this host's SDC (GUID %s) is not registered with the MDM: check that the scini service runs and that /etc/emc/scaleio/drv_cfg.txt names the MDMs", guid)
}

func (d *Driver) sysID(ctx context.Context) (string, error) {
	d.mu.Lock()
	id := d.systemID
	d.mu.Unlock()
	if id != "" {
		return id, nil
	}
	id, err := d.gw.SystemID(ctx)
	if err != nil {
		return "", err
	}
	d.mu.Lock()
	d.systemID = id
	d.mu.Unlock()
	return id, nil
}

func hostName(s gateway.Sdc) string {
	if s.Name != "" {
		return fmt.Sprintf("%s (%s)", s.Name, s.IP)
	}
	return s.IP
}

func mappings(vol gateway.Volume, sdcs []gateway.Sdc) []decide.Mapping {
	by := map[string]gateway.Sdc{}
	for _, s := range sdcs {
		by[s.ID] = s
	}
	var out []decide.Mapping
	for _, m := range vol.Mappings {
		s, ok := by[m.SdcID]
		h := m.SdcIP
		if ok {
			h = hostName(s)
		}
		out = append(out, decide.Mapping{SdcID: m.SdcID, Host: h, Connected: ok && s.Connected})
	}
	return out
}

// gwErr names the volume and the gateway call in a gateway failure (one line).
func gwErr(name, call string, err error) error {
	return fmt.Errorf("volume %s: gateway call %s failed: %w", name, call, err)
}

// Create creates the ScaleIO volume for name, or accepts an existing one (from any host), and
// prepares a new one: mapped here, formatted, metadata written, released.
func (d *Driver) Create(ctx context.Context, name string, opts map[string]string) error {
	if err := decide.ValidDockerName(name); err != nil {
		return err
	}
	o, err := decide.ParseOptions(opts)
	if err != nil {
		return fmt.Errorf("volume %s: %w", name, err)
	}
	defer d.lock(name)()
	v := d.draft(name)
	vol, err := d.gw.FindVolume(ctx, v.ScaleIOName)
	switch {
	case err == nil:
		return d.adopt(name, v, vol, o, opts)
	case !errors.Is(err, gateway.ErrNotFound):
		return gwErr(name, "queryIdByKey", err)
	}
	if o.SnapshotOf != "" {
		return d.createSnapshot(ctx, name, v, o)
	}
	size := decide.RoundUpGB(o.SizeGB)
	pool, err := d.placeNew(ctx, name, &o, size)
	if err != nil {
		return err
	}
	id, err := d.gw.CreateVolume(ctx, v.ScaleIOName, size, o.Thin, pool.ID)
	if err != nil {
		// Another host may have created it a moment ago: that is success.
		if again, ferr := d.gw.FindVolume(ctx, v.ScaleIOName); ferr == nil {
			return d.adopt(name, v, again, o, opts)
		}
		return gwErr(name, "create Volume "+v.ScaleIOName, err)
	}
	d.log.Info("created volume", "volume", name, "scaleioName", v.ScaleIOName, "volumeId", id, "askedGB", o.SizeGB, "sizeGB", size, "pool", pool.Name, "protectionDomain", pool.ProtectionDomain)
	return d.prepareNew(ctx, name, v, id, o)
}

// prepareNew maps, formats (when empty), mounts and releases a volume just created (or a
// snapshot just taken) for name; a failure removes it again, so a failed create leaves nothing.
func (d *Driver) prepareNew(ctx context.Context, name string, v *state.Volume, id string, o decide.Options) error {
	v.VolumeID = id
	if _, err := d.attach(ctx, name, v, &o); err != nil {
		rmErr := d.gw.RemoveVolume(context.WithoutCancel(ctx), id)
		if rmErr != nil {
			return fmt.Errorf("volume %s: preparing the new volume failed (%w); removing it failed too (%v): remove ScaleIO volume %s by hand", name, err, rmErr, v.ScaleIOName)
		}
		return fmt.Errorf("volume %s: preparing the new volume failed, so it was removed again: %w", name, err)
	}
	if err := d.release(ctx, name, v); err != nil {
		// The volume exists and may still be mounted or mapped here: the state must say so.
		_ = d.commit(name, v)
		return err
	}
	return d.commit(name, v)
}

// adopt accepts an existing volume at Create (idempotent create from any host).
func (d *Driver) adopt(name string, v *state.Volume, vol gateway.Volume, o decide.Options, opts map[string]string) error {
	v.VolumeID = vol.ID
	if o.Takeover {
		v.TakeoverRequested = true
		d.log.Warn("takeover requested for the next mount on this host", "volume", name, "scaleioName", v.ScaleIOName)
	}
	if _, asked := opts["size"]; asked && decide.RoundUpGB(o.SizeGB) != vol.SizeGB {
		d.log.Warn("volume exists with another size; keeping it", "volume", name, "sizeGB", vol.SizeGB, "askedGB", o.SizeGB)
	}
	return d.commit(name, v)
}

func (d *Driver) forget(name string) {
	d.mu.Lock()
	delete(d.st.Volumes, name)
	d.mu.Unlock()
	_ = d.save()
}

// attach maps the volume to this host (taking it over when allowed), sets the mapping's QoS
// limits, waits for the device, formats it if it has no file system, mounts it and reads or
// writes its metadata. createOpts are the options of a Create on this host (nil at Mount).
func (d *Driver) attach(ctx context.Context, name string, v *state.Volume, createOpts *decide.Options) (string, error) {
	vol, err := d.gw.FindVolume(ctx, v.ScaleIOName)
	if errors.Is(err, gateway.ErrNotFound) {
		return "", fmt.Errorf("volume %s: no ScaleIO volume %s: create it with `docker volume create -d scaleio %s`", name, v.ScaleIOName, name)
	}
	if err != nil {
		return "", gwErr(name, "queryIdByKey", err)
	}
	v.VolumeID = vol.ID
	sysID, err := d.sysID(ctx)
	if err != nil {
		return "", gwErr(name, "System instances", err)
	}
	me, sdcs, err := d.mySdc(ctx)
	if err != nil {
		return "", fmt.Errorf("volume %s: %w", name, err)
	}
	move := decide.DecideMove(me, mappings(vol, sdcs), v.TakeoverRequested || d.cfg.AllowTakeover)
	switch move.Action {
	case decide.Refuse:
		return "", fmt.Errorf("volume %s: refused: %s", name, move.Reason)
	case decide.TakeOver:
		for _, m := range move.From {
			d.log.Warn("taking volume over from another host", "volume", name, "from", m.Host, "fromSdc", m.SdcID, "reason", move.Reason)
			if err := d.gw.Unmap(ctx, vol.ID, m.SdcID); err != nil {
				return "", gwErr(name, "removeMappedSdc (from "+m.Host+")", err)
			}
		}
	}
	mapped := false
	if move.Action != decide.UseHere {
		if err := d.gw.Map(ctx, vol.ID, me); err != nil {
			return "", gwErr(name, "addMappedSdc", err)
		}
		mapped = true
	}
	undo := func(cause error) error {
		if mapped {
			if err := d.gw.Unmap(context.WithoutCancel(ctx), vol.ID, me); err != nil {
				return fmt.Errorf("%w (undoing the mapping failed too: %v)", cause, err)
			}
		}
		return cause
	}
	dir := d.mountDir(v.ScaleIOName)
	meta, err := d.mountLocal(ctx, name, v, sysID, vol.ID, dir, createOpts)
	if err != nil {
		return "", undo(err)
	}
	if err := d.gw.SetLimits(ctx, vol.ID, me, meta.Options.IOPS, meta.Options.BandwidthKBps); err != nil {
		_ = d.host.Unmount(dir)
		return "", undo(gwErr(name, "setMappedSdcLimits", err))
	}
	v.Options = &meta.Options
	v.Mounted = true
	d.log.Info("attached volume", "volume", name, "scaleioName", v.ScaleIOName, "volumeId", vol.ID, "sdc", me, "action", move.Reason, "iops", meta.Options.IOPS, "bandwidthKBps", meta.Options.BandwidthKBps)
	return d.DataPath(v.ScaleIOName), nil
}

// mountLocal waits for the device, formats it when it has no file system, mounts it on dir and
// returns its metadata (written, with the data directory's mode and owner, after a mkfs).
func (d *Driver) mountLocal(ctx context.Context, name string, v *state.Volume, sysID, volID, dir string, createOpts *decide.Options) (Meta, error) {
	wctx, cancel := context.WithTimeout(ctx, d.cfg.DeviceWait)
	dev, err := d.host.WaitDevice(wctx, sysID, volID)
	cancel()
	if err != nil {
		return Meta{}, fmt.Errorf("volume %s: %w", name, err)
	}
	mounts, err := d.host.Mounts()
	if err != nil {
		return Meta{}, fmt.Errorf("volume %s: read mounts: %w", name, err)
	}
	devNum, _ := host.DeviceNumber(dev)
	already := false
	for _, m := range mounts {
		if m.Target == dir {
			already = true
			continue
		}
		if devNum != "" && m.Dev == devNum {
			return Meta{}, fmt.Errorf("volume %s: its device %s is already mounted at %s; unmount it there first", name, dev, m.Target)
		}
	}
	opts := decide.DefaultOptions()
	switch {
	case createOpts != nil:
		opts = *createOpts
	case v.Options != nil:
		opts = *v.Options
	}
	return d.formatMount(ctx, name, dev, dir, already, opts, createOpts)
}

// formatMount formats dev when it has no file system, mounts it on dir (unless already) and
// returns the volume's metadata: written after a mkfs, or taken over from the source's after a
// snapshot (the copy carries its source's metadata, now named for the new volume).
func (d *Driver) formatMount(ctx context.Context, name, dev, dir string, already bool, opts decide.Options, createOpts *decide.Options) (Meta, error) {
	fs, err := d.host.FsType(ctx, dev)
	if err == nil && fs == "" && createOpts != nil && createOpts.SnapshotOf != "" {
		fs, err = d.snapshotFsType(ctx, name, dev)
	}
	if err != nil {
		return Meta{}, fmt.Errorf("volume %s: %w", name, err)
	}
	formatted := false
	if fs == "" {
		d.log.Info("formatting volume", "volume", name, "device", dev, "fsType", opts.FsType)
		if err := d.host.Mkfs(ctx, dev, opts.FsType); err != nil {
			return Meta{}, fmt.Errorf("volume %s: %w", name, err)
		}
		fs, formatted = opts.FsType, true
	}
	if !already {
		if err := d.host.Mount(dev, dir, fs); err != nil {
			return Meta{}, fmt.Errorf("volume %s: %w", name, err)
		}
	}
	meta, err := readMeta(dir)
	switch {
	case formatted || errors.Is(err, os.ErrNotExist):
		meta = Meta{DockerName: name, Options: opts}
		meta.Options.FsType = fs
		err = writeMeta(dir, meta)
	case err == nil && createOpts != nil && createOpts.SnapshotOf != "" && meta.DockerName != name:
		meta = snapshotMeta(meta, name, *createOpts)
		err = writeMetaFile(dir, meta)
	}
	if err != nil {
		_ = d.host.Unmount(dir)
		return Meta{}, fmt.Errorf("volume %s: metadata: %w", name, err)
	}
	return meta, nil
}

func readMeta(dir string) (Meta, error) {
	var m Meta
	data, err := os.ReadFile(filepath.Join(dir, MetaFile))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("%s: %w", filepath.Join(dir, MetaFile), err)
	}
	return m, nil
}

// writeMeta writes the metadata and creates the data directory with the volume's mode and owner
// (applied once, after mkfs: later changes by containers are kept).
func writeMeta(dir string, m Meta) error {
	data := filepath.Join(dir, DataDir)
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(data, os.FileMode(m.Options.Mode)&os.ModePerm|modeBits(m.Options.Mode)); err != nil {
		return err
	}
	if err := os.Chown(data, m.Options.UID, m.Options.GID); err != nil {
		return err
	}
	return writeMetaFile(dir, m)
}

// writeMetaFile replaces MetaFile in dir (temporary file, then rename).
func writeMetaFile(dir string, m Meta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, MetaFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, MetaFile))
}

// modeBits converts the setuid/setgid/sticky bits of a Unix mode to Go's FileMode.
func modeBits(mode uint32) os.FileMode {
	var m os.FileMode
	if mode&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if mode&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if mode&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m
}

// release unmounts the volume and removes this host's mapping.
func (d *Driver) release(ctx context.Context, name string, v *state.Volume) error {
	dir := d.mountDir(v.ScaleIOName)
	if err := d.host.Unmount(dir); err != nil {
		return fmt.Errorf("volume %s: %w", name, err)
	}
	v.Mounted = false
	if v.VolumeID == "" {
		return nil
	}
	me, _, err := d.mySdc(ctx)
	if err != nil {
		return fmt.Errorf("volume %s: %w", name, err)
	}
	if err := d.gw.Unmap(ctx, v.VolumeID, me); err != nil {
		return gwErr(name, "removeMappedSdc", err)
	}
	// Let the SDC drop the device now rather than at its next poll, so a later mapping here
	// never finds the old device still in place.
	if err := d.host.Rescan(ctx); err != nil {
		d.log.Warn("drv_cfg --rescan after unmapping failed", "volume", name, "error", err.Error())
	}
	d.log.Info("released volume", "volume", name, "scaleioName", v.ScaleIOName, "volumeId", v.VolumeID, "sdc", me)
	return nil
}

// RequestTakeover asks for the next mount of name on this host to take the volume over from
// any other host, even one whose SDC is still connected (`scaleio-volume-plugin -takeover`).
// It is the way to ask for an existing volume: Docker asks the driver's Get before Create and
// never sends Create (so never -o takeover=true) for a volume that exists (moby
// volume/service/store.go).
func (d *Driver) RequestTakeover(name string) error {
	if err := decide.ValidDockerName(name); err != nil {
		return err
	}
	defer d.lock(name)()
	v := d.record(name)
	v.TakeoverRequested = true
	d.log.Warn("takeover requested for the next mount on this host", "volume", name, "scaleioName", v.ScaleIOName)
	return d.save()
}

// Mount counts one mount of name by Docker mount ID id, attaching the volume on the first one.
// The state changes only when the mount worked.
func (d *Driver) Mount(ctx context.Context, name, id string) (string, error) {
	if err := validNameAndID(name, id); err != nil {
		return "", err
	}
	defer d.lock(name)()
	v := d.draft(name)
	if v.Mounted {
		if err := d.checkStillMapped(ctx, name, v); err != nil {
			return "", err
		}
	} else {
		if _, err := d.attach(ctx, name, v, nil); err != nil {
			return "", err
		}
		v.TakeoverRequested = false
	}
	v.Mounts.Add(id)
	if err := d.commit(name, v); err != nil {
		return "", fmt.Errorf("volume %s: %w", name, err)
	}
	return d.DataPath(v.ScaleIOName), nil
}

// validNameAndID checks a Docker volume name and mount ID (Mount, Unmount).
func validNameAndID(name, id string) error {
	if err := decide.ValidDockerName(name); err != nil {
		return err
	}
	if err := decide.ValidMountID(id); err != nil {
		return fmt.Errorf("volume %s: %w", name, err)
	}
	return nil
}

// checkStillMapped refuses a new mount of a volume mounted here whose mapping went to another
// host meanwhile (taken over while this host was cut off): its mount here is stale. A gateway
// that cannot be reached does not block a mount that is already in place.
func (d *Driver) checkStillMapped(ctx context.Context, name string, v *state.Volume) error {
	vol, err := d.gw.FindVolume(ctx, v.ScaleIOName)
	if errors.Is(err, gateway.ErrUnreachable) {
		d.log.Warn("gateway unreachable; trusting the existing mount", "volume", name, "error", err.Error())
		return nil
	}
	if err != nil {
		return gwErr(name, "queryIdByKey", err)
	}
	me, sdcs, err := d.mySdc(ctx)
	if err != nil {
		return fmt.Errorf("volume %s: %w", name, err)
	}
	holders := []string{}
	for _, m := range mappings(vol, sdcs) {
		if m.SdcID == me {
			return nil
		}
		holders = append(holders, m.Host)
	}
	by := "no host"
	if len(holders) > 0 {
		by = "host " + strings.Join(holders, ", ")
	}
	return fmt.Errorf("volume %s: its mount on this host is stale: the volume is now mapped to %s (taken over while this host was cut off); stop the containers using it here (docker ps --filter volume=%s), then mount it again", name, by, name)
}

// Unmount drops one mount by id; the last one releases the volume. Unknown ids are a no-op.
func (d *Driver) Unmount(ctx context.Context, name, id string) error {
	if err := validNameAndID(name, id); err != nil {
		return err
	}
	defer d.lock(name)()
	v := d.lookup(name)
	if v == nil {
		return nil
	}
	known, last := v.Mounts.Remove(id)
	if !known {
		d.log.Info("unmount of an unknown mount id: nothing to do", "volume", name, "id", id)
		return nil
	}
	if last {
		if err := d.release(ctx, name, v); err != nil {
			_ = d.save()
			return err
		}
	}
	return d.save()
}

// Remove unmaps and removes the volume; refused while it is mounted here or mapped elsewhere.
func (d *Driver) Remove(ctx context.Context, name string) error {
	if err := decide.ValidDockerName(name); err != nil {
		return err
	}
	defer d.lock(name)()
	v := d.lookup(name)
	if v != nil && v.Mounts.Total() > 0 {
		return fmt.Errorf("volume %s is in use on this host (%d mount(s)): stop the containers using it first", name, v.Mounts.Total())
	}
	sio := d.namer.ScaleIOName(name)
	vol, err := d.gw.FindVolume(ctx, sio)
	if errors.Is(err, gateway.ErrNotFound) {
		d.forget(name)
		return nil
	}
	if err != nil {
		return gwErr(name, "queryIdByKey", err)
	}
	me, sdcs, err := d.mySdc(ctx)
	if err != nil {
		return fmt.Errorf("volume %s: %w", name, err)
	}
	mine := false
	for _, m := range mappings(vol, sdcs) {
		if m.SdcID != me {
			return fmt.Errorf("volume %s is mapped to host %s and may be in use there: stop its containers there first", name, m.Host)
		}
		mine = true
	}
	if v != nil && v.Mounted {
		if err := d.host.Unmount(d.mountDir(sio)); err != nil {
			return fmt.Errorf("volume %s: %w", name, err)
		}
		v.Mounted = false
	}
	if mine {
		if err := d.gw.Unmap(ctx, vol.ID, me); err != nil {
			return gwErr(name, "removeMappedSdc", err)
		}
	}
	if err := d.gw.RemoveVolume(ctx, vol.ID); err != nil {
		return gwErr(name, "removeVolume", err)
	}
	d.log.Info("removed volume (removeMode ONLY_ME: its snapshots, if any, stay as volumes of their own)", "volume", name, "scaleioName", sio, "volumeId", vol.ID)
	d.forget(name)
	return nil
}

// Info is what Get returns.
type Info struct {
	Mountpoint string
	Status     map[string]any
}

// Get describes a volume (Status for `docker volume inspect`).
func (d *Driver) Get(ctx context.Context, name string) (Info, error) {
	if err := decide.ValidDockerName(name); err != nil {
		return Info{}, err
	}
	sio := d.namer.ScaleIOName(name)
	vol, err := d.gw.FindVolume(ctx, sio)
	if errors.Is(err, gateway.ErrNotFound) {
		return Info{}, fmt.Errorf("no such volume: %s (no ScaleIO volume %s)", name, sio)
	}
	if err != nil {
		return Info{}, gwErr(name, "queryIdByKey", err)
	}
	status := map[string]any{
		"name":            name,
		"scaleioName":     sio,
		"scaleioVolumeId": vol.ID,
		"size":            fmt.Sprintf("%d GB", vol.SizeGB),
		"provisioning":    map[bool]string{true: "thin", false: "thick"}[vol.Thin],
	}
	sdcs, err := d.gw.ListSdcs(ctx)
	if err != nil {
		return Info{}, gwErr(name, "Sdc instances", err)
	}
	by := map[string]gateway.Sdc{}
	for _, s := range sdcs {
		by[s.ID] = s
	}
	var hosts, qos []string
	for _, m := range vol.Mappings {
		h := m.SdcIP
		if s, ok := by[m.SdcID]; ok {
			h = hostName(s)
		}
		hosts = append(hosts, h)
		qos = append(qos, fmt.Sprintf("%s: iops=%s bandwidth=%s", h, limit(m.LimitIops, ""), limit(m.LimitBwMBps, " MB/s")))
	}
	status["mappedTo"] = "none"
	if len(hosts) > 0 {
		status["mappedTo"] = strings.Join(hosts, ", ")
		status["qosOnMapping"] = strings.Join(qos, "; ")
	}
	if err := d.describePlacement(ctx, vol, status); err != nil {
		return Info{}, gwErr(name, "StoragePool instances", err)
	}
	recorded := ""
	if v := d.lookup(name); v != nil && v.Options != nil {
		recorded = v.Options.SnapshotOf
	}
	if err := d.describeLineage(ctx, vol, recorded, status); err != nil {
		return Info{}, gwErr(name, "Volume instances", err)
	}
	info := Info{}
	if v := d.lookup(name); v != nil {
		if v.Options != nil {
			status["fsType"] = v.Options.FsType
			status["qos"] = fmt.Sprintf("iops=%s bandwidth=%s", limit(v.Options.IOPS, ""), limit(v.Options.BandwidthKBps, " KB/s"))
			status["mode"] = fmt.Sprintf("%04o uid=%d gid=%d", v.Options.Mode, v.Options.UID, v.Options.GID)
		}
		if v.Mounted {
			info.Mountpoint = d.DataPath(sio)
		}
	}
	if _, ok := status["fsType"]; !ok {
		status["fsType"] = "unknown until the volume is mounted on this host"
	}
	info.Status = status
	return info, nil
}

func limit(n int, unit string) string {
	if n == 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%d%s", n, unit)
}

// Listed is one List entry.
type Listed struct {
	Name       string
	Mountpoint string
}

// List lists the plugin's volumes with one gateway call. Volumes with derived names created on
// other hosts are listed once this host has seen their Docker name.
func (d *Driver) List(ctx context.Context) ([]Listed, error) {
	vols, err := d.gw.ListVolumes(ctx)
	if err != nil {
		return nil, fmt.Errorf("list volumes: gateway call Volume instances failed: %w", err)
	}
	d.mu.Lock()
	bySIO := map[string]string{}
	mounted := map[string]bool{}
	for name, v := range d.st.Volumes {
		bySIO[v.ScaleIOName] = name
		mounted[name] = v.Mounted
	}
	d.mu.Unlock()
	var out []Listed
	for _, vol := range vols {
		if !d.namer.Owned(vol.Name) {
			continue
		}
		name, ok := bySIO[vol.Name]
		if !ok {
			if name, ok = d.namer.DockerName(vol.Name); !ok {
				continue
			}
		}
		l := Listed{Name: name}
		if mounted[name] {
			l.Mountpoint = d.DataPath(vol.Name)
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Path returns the mount point of a volume mounted here, else "".
func (d *Driver) Path(name string) (string, error) {
	if err := decide.ValidDockerName(name); err != nil {
		return "", err
	}
	v := d.lookup(name)
	if v == nil || !v.Mounted {
		return "", nil
	}
	return d.DataPath(v.ScaleIOName), nil
}

// Check logs in to the gateway, finds the default storage pool (protectionDomain, storagePool
// of the config) and this host's SDC, changing nothing.
func (d *Driver) Check(ctx context.Context) (sdcID, systemID string, err error) {
	if systemID, err = d.sysID(ctx); err != nil {
		return "", "", err
	}
	pools, err := d.gw.ListPools(ctx)
	if err != nil {
		return "", "", fmt.Errorf("list storage pools: %w", err)
	}
	if _, err := decide.PickPool(pools, d.cfg.ProtectionDomain, d.cfg.Pool); err != nil {
		return "", "", fmt.Errorf("%w (check \"protectionDomain\" and \"storagePool\" in the plugin config)", err)
	}
	sdcID, _, err = d.mySdc(ctx)
	return sdcID, systemID, err
}

// RecoverLocal rebuilds the state from this host's mounts (call before serving): counts survive
// only for volumes still mounted; mounted volumes the state does not know are adopted.
func (d *Driver) RecoverLocal() (state.Plan, error) {
	mounts, err := d.host.Mounts()
	if err != nil {
		return state.Plan{}, err
	}
	obs := state.Observed{Mounted: map[string]bool{}, MountedUnknown: map[string]string{}, MappedHere: map[string]bool{}}
	d.mu.Lock()
	bySIO := map[string]string{}
	for name, v := range d.st.Volumes {
		bySIO[v.ScaleIOName] = name
	}
	for _, m := range mounts {
		if filepath.Dir(m.Target) != filepath.Clean(d.cfg.Root) {
			continue
		}
		sio := filepath.Base(m.Target)
		if name, ok := bySIO[sio]; ok {
			obs.Mounted[name] = true
		} else if d.namer.Owned(sio) {
			docker, _ := d.namer.DockerName(sio)
			if docker == "" {
				if meta, err := readMeta(m.Target); err == nil {
					docker = meta.DockerName
				}
			}
			obs.MountedUnknown[sio] = docker
		}
	}
	plan := state.Reconcile(d.st, obs)
	d.mu.Unlock()
	for _, n := range plan.Dropped {
		d.log.Warn("dropped mount counts of a volume that is no longer mounted (host restarted?)", "volume", n)
	}
	return plan, d.save()
}

// RecoverCluster releases the plugin's volumes that the cluster still maps to this host but
// that are not mounted here (left over from a crash or reboot).
func (d *Driver) RecoverCluster(ctx context.Context) error {
	me, _, err := d.mySdc(ctx)
	if err != nil {
		return err
	}
	vols, err := d.gw.ListVolumes(ctx)
	if err != nil {
		return fmt.Errorf("list volumes: %w", err)
	}
	for _, vol := range vols {
		if !d.namer.Owned(vol.Name) {
			continue
		}
		here := false
		for _, m := range vol.Mappings {
			here = here || m.SdcID == me
		}
		if !here {
			continue
		}
		if err := d.releaseIfIdle(ctx, vol, me); err != nil {
			return err
		}
	}
	return nil
}

// releaseIfIdle unmaps vol from this host unless a Mount holds it; it takes the volume's lock so
// a Mount in progress is not undone.
func (d *Driver) releaseIfIdle(ctx context.Context, vol gateway.Volume, me string) error {
	d.mu.Lock()
	name := ""
	for n, v := range d.st.Volumes {
		if v.ScaleIOName == vol.Name {
			name = n
		}
	}
	d.mu.Unlock()
	if name != "" {
		defer d.lock(name)()
		if v := d.lookup(name); v != nil && v.Mounted {
			return nil
		}
	}
	d.log.Warn("releasing a volume mapped here but not mounted", "scaleioName", vol.Name, "volumeId", vol.ID)
	if err := d.gw.Unmap(ctx, vol.ID, me); err != nil {
		return fmt.Errorf("volume %s: gateway call removeMappedSdc failed: %w", vol.Name, err)
	}
	return nil
}
