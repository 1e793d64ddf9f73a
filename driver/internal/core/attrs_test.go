package core

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCreatePlacesVolumesInPools(t *testing.T) {
	tests := []struct {
		name             string
		opts             map[string]string
		wantPool, wantPD string
		wantTier         string
		errHas           []string
	}{
		{name: "default pool from the config", opts: nil, wantPool: "sp1", wantPD: "pd1", wantTier: "HDD"},
		{name: "-o pool picks the SSD pool", opts: map[string]string{"pool": "fast", "size": "8"}, wantPool: "fast", wantPD: "pd1", wantTier: "SSD"},
		{name: "-o protectionDomain picks that domain's pool", opts: map[string]string{"protectionDomain": "pd2"}, wantPool: "sp1", wantPD: "pd2", wantTier: "HDD"},
		{name: "an unknown pool is refused naming the pools", opts: map[string]string{"pool": "slow"},
			errHas: []string{`storage pool "slow" does not exist in protection domain "pd1": its pools are "fast", "sp1"`}},
		{name: "a thick volume over the pool's free capacity is refused with the numbers", opts: map[string]string{"pool": "fast", "size": "72", "thin": "false"},
			errHas: []string{"refused, nothing created", `a 72 GB thick volume does not fit storage pool "fast": it has 64 GB available`}},
		{name: "so is a thin one", opts: map[string]string{"pool": "fast", "size": "100"},
			errHas: []string{"a 104 GB thin volume does not fit"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t)
			err := c.a.d.Create(ctx, "data1", tc.opts)
			if len(tc.errHas) > 0 {
				for _, h := range tc.errHas {
					if err == nil || !strings.Contains(err.Error(), h) {
						t.Fatalf("error %v does not contain %q", err, h)
					}
				}
				if n := c.gw.count("CreateVolume"); n != 0 {
					t.Fatalf("CreateVolume called %d times for a refused create", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			info, err := c.b.d.Get(ctx, "data1")
			if err != nil {
				t.Fatal(err)
			}
			s := info.Status
			if s["pool"] != tc.wantPool || s["protectionDomain"] != tc.wantPD || s["tier"] != tc.wantTier {
				t.Fatalf("inspect from the other host: pool %v, protection domain %v, tier %v; want %s, %s, %s", s["pool"], s["protectionDomain"], s["tier"], tc.wantPool, tc.wantPD, tc.wantTier)
			}
			if s["snapshotOf"] != "none (a volume of its own)" {
				t.Fatalf("snapshotOf = %v", s["snapshotOf"])
			}
		})
	}
}

func TestCapacityIsTakenByThickVolumes(t *testing.T) {
	c := newCluster(t)
	for i, want := range []bool{true, true, false} { // 64 GB pool: 32 + 32 fit, a third does not
		err := c.a.d.Create(ctx, []string{"t1", "t2", "t3"}[i], map[string]string{"pool": "fast", "size": "32", "thin": "false"})
		if (err == nil) != want {
			t.Fatalf("create %d: err %v, want success %v", i+1, err, want)
		}
		if err != nil && !strings.Contains(err.Error(), "it has 0 GB available") {
			t.Fatalf("create %d: %v", i+1, err)
		}
	}
}

// writeFile writes content to the volume's data directory as a container would.
func writeData(t *testing.T, mountpoint, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(mountpoint, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotOfAMountedVolumeIsFrozenAndUsableOnAnotherHost(t *testing.T) {
	c := newCluster(t)
	if err := c.a.d.Create(ctx, "src", map[string]string{"pool": "fast", "size": "8", "mode": "0700", "uid": "1000"}); err != nil {
		t.Fatal(err)
	}
	pa, err := c.a.d.Mount(ctx, "src", "m1")
	if err != nil {
		t.Fatal(err)
	}
	writeData(t, pa, "row", "before the snapshot")
	srcDir := c.a.d.mountDir(c.a.d.namer.ScaleIOName("src"))
	frozenAtSnapshot := false
	inner := c.gw.onSnapshot
	c.gw.onSnapshot = func(src, dst string) {
		frozenAtSnapshot = c.a.h.isFrozen(srcDir)
		inner(src, dst)
	}
	if err := c.a.d.Create(ctx, "snap1", map[string]string{"snapshotOf": "src", "iops": "500"}); err != nil {
		t.Fatal(err)
	}
	if !frozenAtSnapshot || c.a.h.isFrozen(srcDir) {
		t.Fatalf("source frozen at the snapshot: %v, still frozen after: %v; want true, false", frozenAtSnapshot, c.a.h.isFrozen(srcDir))
	}
	writeData(t, pa, "row", "after the snapshot")
	pb, err := c.b.d.Mount(ctx, "snap1", "b1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(pb, "row"))
	if err != nil || string(got) != "before the snapshot" {
		t.Fatalf("snapshot read on host B: %q, %v; want the data of the snapshot's instant", got, err)
	}
	meta, err := readMeta(filepath.Dir(pb))
	if err != nil {
		t.Fatal(err)
	}
	if meta.DockerName != "snap1" || meta.Options.SnapshotOf != "src" || meta.Options.IOPS != 500 || meta.Options.Mode != 0o700 || meta.Options.UID != 1000 {
		t.Fatalf("snapshot metadata %+v: want its own name, its source, its own QoS and the source's mode and owner", meta)
	}
	info, err := c.b.d.Get(ctx, "snap1")
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := info.Status["snapshotOf"].(string); !strings.HasPrefix(s, "src (ScaleIO volume dv-src") || info.Status["pool"] != "fast" {
		t.Fatalf("inspect lineage %q, pool %v", s, info.Status["pool"])
	}
	srcInfo, err := c.a.d.Get(ctx, "src")
	if err != nil || srcInfo.Status["snapshots"] != "snap1" {
		t.Fatalf("the source's inspect lists snapshots %v (%v), want snap1", srcInfo.Status["snapshots"], err)
	}
}

func TestSnapshotRefusals(t *testing.T) {
	c := newCluster(t)
	err := c.a.d.Create(ctx, "snap1", map[string]string{"snapshotOf": "nothere"})
	if err == nil || !strings.Contains(err.Error(), "snapshotOf=nothere: no such volume") {
		t.Fatalf("snapshot of a missing volume: %v", err)
	}
	err = c.a.d.Create(ctx, "snap1", map[string]string{"snapshotOf": "snap1"})
	if err == nil || !strings.Contains(err.Error(), "names the volume itself") {
		t.Fatalf("snapshot of itself: %v", err)
	}
	if n := c.gw.count("Snapshot"); n != 0 {
		t.Fatalf("Snapshot called %d times", n)
	}
}

func TestRemoveOfASourceKeepsItsSnapshots(t *testing.T) {
	c := newCluster(t)
	if err := c.a.d.Create(ctx, "src", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.a.d.Create(ctx, "snap1", map[string]string{"snapshotOf": "src"}); err != nil {
		t.Fatal(err)
	}
	if err := c.a.d.Remove(ctx, "src"); err != nil {
		t.Fatal(err)
	}
	pb, err := c.b.d.Mount(ctx, "snap1", "b1")
	if err != nil {
		t.Fatalf("the snapshot after its source's removal: %v", err)
	}
	if _, err := os.Stat(pb); err != nil {
		t.Fatal(err)
	}
	info, err := c.b.d.Get(ctx, "snap1")
	if err != nil || info.Status["snapshotOf"] != "src (removed since: the snapshot is a volume of its own now)" {
		t.Fatalf("lineage after the source's removal: %v (%v)", info.Status["snapshotOf"], err)
	}
}

func TestResize(t *testing.T) {
	c := newCluster(t)
	if err := c.a.d.Create(ctx, "data1", map[string]string{"size": "16"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.a.d.Mount(ctx, "data1", "m1"); err != nil {
		t.Fatal(err)
	}
	dir := c.a.d.mountDir(c.a.d.namer.ScaleIOName("data1"))
	r, err := c.a.d.Resize(ctx, "data1", 20)
	if err != nil || r.FromGB != 16 || r.ToGB != 24 || r.FsType != "xfs" {
		t.Fatalf("resize mounted: %+v, %v; want 16 -> 24 GB, xfs", r, err)
	}
	if len(c.a.h.grown) != 1 || c.a.h.grown[0] != dir+" xfs" {
		t.Fatalf("file system growths %v, want one on %s", c.a.h.grown, dir)
	}
	if _, err := c.a.d.Resize(ctx, "data1", 8); err == nil || !strings.Contains(err.Error(), "shrinking is refused") {
		t.Fatalf("shrink: %v", err)
	}
	if _, err := c.b.d.Resize(ctx, "data1", 32); err == nil || !strings.Contains(err.Error(), "is mapped to host hostA (10.0.0.1): run `scaleio-volume-plugin -resize data1 32` there") {
		t.Fatalf("resize from another host: %v", err)
	}
	if n := c.gw.count("SetSize"); n != 1 {
		t.Fatalf("SetSize called %d times, want 1 (refusals change nothing)", n)
	}
	// Same size again: no setVolumeSize, the file system grown again (a no-op when it fills it).
	if r, err := c.a.d.Resize(ctx, "data1", 24); err != nil || r.FromGB != 24 || r.ToGB != 24 {
		t.Fatalf("second resize: %+v, %v", r, err)
	}
	if n := c.gw.count("SetSize"); n != 1 {
		t.Fatalf("SetSize called %d times after a same-size resize, want 1", n)
	}
	if err := c.a.d.Unmount(ctx, "data1", "m1"); err != nil {
		t.Fatal(err)
	}
	// Mounted nowhere: attached here for the growth, then released.
	if r, err := c.b.d.Resize(ctx, "data1", 32); err != nil || r.ToGB != 32 {
		t.Fatalf("resize of an unmounted volume: %+v, %v", r, err)
	}
	if m := c.gw.mappedTo(c.a.d.namer.ScaleIOName("data1")); len(m) != 0 {
		t.Fatalf("still mapped to %v after resizing an unmounted volume", m)
	}
	if c.b.h.grown == nil {
		t.Fatal("the file system of an unmounted volume was not grown")
	}
}

func TestResizeRefusesGrowthBeyondThePool(t *testing.T) {
	c := newCluster(t)
	if err := c.a.d.Create(ctx, "data1", map[string]string{"pool": "fast", "size": "32", "thin": "false"}); err != nil {
		t.Fatal(err)
	}
	_, err := c.a.d.Resize(ctx, "data1", 80)
	if err == nil || !strings.Contains(err.Error(), "growth to 80 GB refused, nothing changed") || !strings.Contains(err.Error(), "32 GB available") {
		t.Fatalf("growth beyond the pool: %v", err)
	}
	if n := c.gw.count("SetSize"); n != 0 {
		t.Fatalf("SetSize called %d times", n)
	}
}

func TestASnapshotIsNeverFormatted(t *testing.T) {
	c := newCluster(t)
	if err := c.a.d.Create(ctx, "src", nil); err != nil {
		t.Fatal(err)
	}
	// The snapshot's device shows no file system (an SDC that has not copied the data yet).
	c.gw.onSnapshot = func(string, string) {}
	mkfsBefore := c.a.h.mkfs
	err := c.a.d.Create(ctx, "snap1", map[string]string{"snapshotOf": "src"})
	if err == nil || !strings.Contains(err.Error(), "a snapshot is never formatted") || !strings.Contains(err.Error(), "so it was removed again") {
		t.Fatalf("snapshot without a file system: %v", err)
	}
	if c.a.h.mkfs != mkfsBefore {
		t.Fatal("the snapshot was formatted")
	}
	if _, err := c.a.d.Get(ctx, "snap1"); err == nil {
		t.Fatal("the failed snapshot's volume is still there")
	}
}
