package core

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"arrowhead/driver/internal/decide"
	"arrowhead/driver/internal/gateway"
	"arrowhead/driver/internal/host"
)

// fakeGateway keeps volumes and SDCs in memory and follows the gateway's rules: 31-character
// names, single mappings, limits per mapping. It counts calls per method.
type fakeGateway struct {
	mu    sync.Mutex
	vols  map[string]*gateway.Volume // by id
	sdcs  []gateway.Sdc
	pools []decide.PoolRef
	// availKB is each pool's capacityAvailableForVolumeAllocationInKb, by pool id; thick
	// volumes take their size from it, as ScaleIO's figure does.
	availKB map[string]int64
	calls   map[string]int
	next    int
	fail    map[string]error // method -> error to return
	// onSnapshot, when set, runs inside Snapshot (under the lock) with the source and new ids.
	onSnapshot func(srcID, newID string)
}

func newFakeGateway(sdcs ...gateway.Sdc) *fakeGateway {
	pools := []decide.PoolRef{
		{ID: "p1", Name: "sp1", ProtectionDomainID: "pd1id", ProtectionDomain: "pd1", MediaType: "HDD"},
		{ID: "p2", Name: "fast", ProtectionDomainID: "pd1id", ProtectionDomain: "pd1", MediaType: "SSD"},
		{ID: "p3", Name: "sp1", ProtectionDomainID: "pd2id", ProtectionDomain: "pd2", MediaType: "HDD"},
	}
	avail := map[string]int64{"p1": 512 * decide.KBPerGB, "p2": 64 * decide.KBPerGB, "p3": 512 * decide.KBPerGB}
	return &fakeGateway{vols: map[string]*gateway.Volume{}, sdcs: sdcs, pools: pools, availKB: avail, calls: map[string]int{}, fail: map[string]error{}}
}

func (g *fakeGateway) enter(m string) error {
	g.mu.Lock()
	g.calls[m]++
	return g.fail[m]
}

func (g *fakeGateway) SystemID(context.Context) (string, error) {
	defer g.mu.Unlock()
	return "sys1", g.enter("SystemID")
}

func (g *fakeGateway) FindVolume(_ context.Context, name string) (gateway.Volume, error) {
	defer g.mu.Unlock()
	if err := g.enter("FindVolume"); err != nil {
		return gateway.Volume{}, err
	}
	for _, v := range g.vols {
		if v.Name == name {
			c := *v
			c.Mappings = append([]gateway.Mapping(nil), v.Mappings...)
			return c, nil
		}
	}
	return gateway.Volume{}, fmt.Errorf("%w: Could not find the volume (code 79)", gateway.ErrNotFound)
}

func (g *fakeGateway) ListVolumes(context.Context) ([]gateway.Volume, error) {
	defer g.mu.Unlock()
	if err := g.enter("ListVolumes"); err != nil {
		return nil, err
	}
	var out []gateway.Volume
	for _, v := range g.vols {
		out = append(out, *v)
	}
	return out, nil
}

func (g *fakeGateway) CreateVolume(_ context.Context, name string, sizeGB int, thin bool, poolID string) (string, error) {
	defer g.mu.Unlock()
	if err := g.enter("CreateVolume"); err != nil {
		return "", err
	}
	if len(name) > 31 {
		return "", fmt.Errorf("%w: name too long", gateway.ErrNameTooLong)
	}
	if _, ok := g.availKB[poolID]; !ok {
		return "", fmt.Errorf("no storage pool %s", poolID)
	}
	g.next++
	id := fmt.Sprintf("vol%d", g.next)
	g.vols[id] = &gateway.Volume{ID: id, Name: name, SizeGB: sizeGB, Thin: thin, PoolID: poolID}
	if !thin {
		g.availKB[poolID] -= int64(sizeGB) * decide.KBPerGB
	}
	return id, nil
}

func (g *fakeGateway) ListPools(context.Context) ([]decide.PoolRef, error) {
	defer g.mu.Unlock()
	if err := g.enter("ListPools"); err != nil {
		return nil, err
	}
	return append([]decide.PoolRef(nil), g.pools...), nil
}

func (g *fakeGateway) PoolAvailableKB(_ context.Context, poolID string) (int64, error) {
	defer g.mu.Unlock()
	if err := g.enter("PoolAvailableKB"); err != nil {
		return 0, err
	}
	return g.availKB[poolID], nil
}

// Snapshot copies the source's record as a new volume whose ancestor it is (the data, kept per
// volume id by the fake hosts, is copied by copySnapshotData).
func (g *fakeGateway) Snapshot(_ context.Context, srcID, name string) (string, error) {
	defer g.mu.Unlock()
	if err := g.enter("Snapshot"); err != nil {
		return "", err
	}
	src := g.vols[srcID]
	if src == nil {
		return "", fmt.Errorf("%w: no volume %s", gateway.ErrNotFound, srcID)
	}
	g.next++
	id := fmt.Sprintf("vol%d", g.next)
	g.vols[id] = &gateway.Volume{ID: id, Name: name, SizeGB: src.SizeGB, Thin: src.Thin, PoolID: src.PoolID, AncestorID: srcID}
	if g.onSnapshot != nil {
		g.onSnapshot(srcID, id)
	}
	return id, nil
}

func (g *fakeGateway) SetSize(_ context.Context, volID string, sizeGB int) error {
	defer g.mu.Unlock()
	if err := g.enter("SetSize"); err != nil {
		return err
	}
	v := g.vols[volID]
	if sizeGB < v.SizeGB {
		return fmt.Errorf("cannot shrink")
	}
	v.SizeGB = sizeGB
	return nil
}

func (g *fakeGateway) Map(_ context.Context, volID, sdcID string) error {
	defer g.mu.Unlock()
	if err := g.enter("Map"); err != nil {
		return err
	}
	v := g.vols[volID]
	for _, m := range v.Mappings {
		if m.SdcID == sdcID {
			return nil
		}
	}
	if len(v.Mappings) > 0 {
		return fmt.Errorf("already mapped to another SDC")
	}
	v.Mappings = append(v.Mappings, gateway.Mapping{SdcID: sdcID})
	return nil
}

func (g *fakeGateway) Unmap(_ context.Context, volID, sdcID string) error {
	defer g.mu.Unlock()
	if err := g.enter("Unmap"); err != nil {
		return err
	}
	v := g.vols[volID]
	var keep []gateway.Mapping
	for _, m := range v.Mappings {
		if m.SdcID != sdcID {
			keep = append(keep, m)
		}
	}
	v.Mappings = keep
	return nil
}

func (g *fakeGateway) SetLimits(_ context.Context, volID, sdcID string, iops, bw int) error {
	defer g.mu.Unlock()
	if err := g.enter("SetLimits"); err != nil {
		return err
	}
	v := g.vols[volID]
	for i, m := range v.Mappings {
		if m.SdcID == sdcID {
			v.Mappings[i].LimitIops, v.Mappings[i].LimitBwMBps = iops, bw/1024
			return nil
		}
	}
	return fmt.Errorf("volume %s is not mapped to SDC %s", volID, sdcID)
}

func (g *fakeGateway) RemoveVolume(_ context.Context, volID string) error {
	defer g.mu.Unlock()
	if err := g.enter("RemoveVolume"); err != nil {
		return err
	}
	v := g.vols[volID]
	if v != nil && len(v.Mappings) > 0 {
		return fmt.Errorf("volume is mapped")
	}
	// removeMode ONLY_ME: its snapshots move up to its own ancestor (none for a volume).
	for _, o := range g.vols {
		if v != nil && o.AncestorID == volID {
			o.AncestorID = v.AncestorID
		}
	}
	delete(g.vols, volID)
	return nil
}

func (g *fakeGateway) ListSdcs(context.Context) ([]gateway.Sdc, error) {
	defer g.mu.Unlock()
	if err := g.enter("ListSdcs"); err != nil {
		return nil, err
	}
	return append([]gateway.Sdc(nil), g.sdcs...), nil
}

func (g *fakeGateway) count(m string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[m]
}

func (g *fakeGateway) mappedTo(name string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, v := range g.vols {
		if v.Name == name {
			for _, m := range v.Mappings {
				out = append(out, m.SdcID)
			}
		}
	}
	return out
}

// fakeHost stands for one machine: devices appear when the fake gateway maps a volume to its
// SDC, "mounts" are directories it records, file systems are remembered per volume (so data
// and metadata follow the volume between fake hosts sharing one disks map).
type fakeHost struct {
	guid   string
	sdcID  string
	gw     *fakeGateway
	dir    string
	disks  *sync.Map // volume id -> fs type ("" none)
	mu     sync.Mutex
	mounts map[string]string // target -> volume id
	mkfs   int
	// rescans counts drv_cfg --rescan calls
	rescans int
	// frozen is the mount directories frozen now; freezes counts Freeze calls; frozenAtSnapshot
	// records whether the source was frozen when the fake gateway took a snapshot.
	frozen  map[string]bool
	freezes int
	// grown records each file system growth as "dir fsType".
	grown []string
}

func (h *fakeHost) WaitDeviceBytes(ctx context.Context, dev string, want int64) error {
	vol := h.gw.volByID(h.volOf(dev))
	if int64(vol.SizeGB)*decide.KBPerGB*1024 >= want {
		return nil
	}
	return fmt.Errorf("device %s smaller than %d bytes", dev, want)
}

func (h *fakeHost) GrowFS(_ context.Context, dev, dir, fs string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.grown = append(h.grown, dir+" "+fs)
	return nil
}

func (h *fakeHost) Freeze(_ context.Context, dir string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.frozen == nil {
		h.frozen = map[string]bool{}
	}
	if h.frozen[dir] {
		return fmt.Errorf("fsfreeze: %s: already frozen", dir)
	}
	h.frozen[dir] = true
	h.freezes++
	return nil
}

func (h *fakeHost) Thaw(_ context.Context, dir string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.frozen[dir] {
		return fmt.Errorf("fsfreeze: %s: not frozen", dir)
	}
	delete(h.frozen, dir)
	return nil
}

func (h *fakeHost) isFrozen(dir string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.frozen[dir]
}

func (h *fakeHost) SdcGUID(context.Context) (string, error) { return h.guid, nil }

func (h *fakeHost) WaitDevice(ctx context.Context, sys, vol string) (string, error) {
	for _, s := range h.gw.mappedToID(vol) {
		if s == h.sdcID {
			return filepath.Join(h.dir, "dev-"+vol), nil
		}
	}
	<-ctx.Done()
	return "", fmt.Errorf("device emc-vol-%s-%s did not appear in time", sys, vol)
}

func (h *fakeHost) Rescan(context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rescans++
	return nil
}

func (h *fakeHost) volOf(dev string) string { return filepath.Base(dev)[len("dev-"):] }

func (h *fakeHost) FsType(_ context.Context, dev string) (string, error) {
	fs, _ := h.disks.Load(h.volOf(dev))
	s, _ := fs.(string)
	return s, nil
}

func (h *fakeHost) Mkfs(_ context.Context, dev, fs string) error {
	h.mu.Lock()
	h.mkfs++
	h.mu.Unlock()
	h.disks.Store(h.volOf(dev), fs)
	// a new file system: the volume's "content" directory starts empty
	return os.RemoveAll(filepath.Join(h.dir, "..", "content-"+h.volOf(dev)))
}

// Mount links target to the volume's content directory, shared by every fake host.
func (h *fakeHost) Mount(dev, target, fs string) error {
	content := filepath.Join(h.dir, "..", "content-"+h.volOf(dev))
	if err := os.MkdirAll(content, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		return err
	}
	if err := os.Symlink(content, target); err != nil {
		return err
	}
	h.mu.Lock()
	h.mounts[target] = h.volOf(dev)
	h.mu.Unlock()
	return nil
}

func (h *fakeHost) Unmount(target string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.mounts[target]; !ok {
		return nil
	}
	delete(h.mounts, target)
	return os.Remove(target)
}

func (h *fakeHost) Mounts() ([]host.MountEntry, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []host.MountEntry
	for t := range h.mounts {
		out = append(out, host.MountEntry{Target: t, FsType: "xfs"})
	}
	return out, nil
}

func (g *fakeGateway) volByID(id string) gateway.Volume {
	g.mu.Lock()
	defer g.mu.Unlock()
	if v := g.vols[id]; v != nil {
		return *v
	}
	return gateway.Volume{}
}

func (g *fakeGateway) mappedToID(volID string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	if v := g.vols[volID]; v != nil {
		for _, m := range v.Mappings {
			out = append(out, m.SdcID)
		}
	}
	return out
}

// machine is one fake host with its driver.
type machine struct {
	h *fakeHost
	d *Driver
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newMachine(t interface {
	TempDir() string
	Fatal(...any)
}, base string, gw *fakeGateway, disks *sync.Map, guid, sdcID string) *machine {
	dir := filepath.Join(base, sdcID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h := &fakeHost{guid: guid, sdcID: sdcID, gw: gw, dir: dir, disks: disks, mounts: map[string]string{}}
	return &machine{h: h, d: restart(t, h, gw)}
}

// restart builds a new Driver over the same host and state file, as a plugin restart does.
func restart(t interface{ Fatal(...any) }, h *fakeHost, gw *fakeGateway) *Driver {
	namer, err := decide.NewNamer(decide.DefaultPrefix)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(gw, h, namer, Config{Root: filepath.Join(h.dir, "mounts"), StatePath: filepath.Join(h.dir, "state.json"), DeviceWait: 200e6, ProtectionDomain: "pd1", Pool: "sp1"}, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.RecoverLocal(); err != nil {
		t.Fatal(err)
	}
	return d
}
