package core

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"arrowhead/driver/internal/gateway"
)

type cluster struct {
	gw   *fakeGateway
	a, b *machine
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	gw := newFakeGateway(
		gateway.Sdc{ID: "sdcA", GUID: "GUID-A", IP: "10.0.0.1", Name: "hostA", Connected: true},
		gateway.Sdc{ID: "sdcB", GUID: "GUID-B", IP: "10.0.0.2", Name: "hostB", Connected: true},
	)
	base := t.TempDir()
	disks := &sync.Map{}
	// A snapshot starts with its source's file system and files (called under the gateway's lock).
	gw.onSnapshot = func(src, dst string) {
		if fs, ok := disks.Load(src); ok {
			disks.Store(dst, fs)
		}
		if err := os.CopyFS(filepath.Join(base, "content-"+dst), os.DirFS(filepath.Join(base, "content-"+src))); err != nil {
			t.Errorf("copy the snapshot's content: %v", err)
		}
	}
	return &cluster{gw: gw, a: newMachine(t, base, gw, disks, "guid-a", "sdcA"), b: newMachine(t, base, gw, disks, "guid-b", "sdcB")}
}

var ctx = context.Background()

func TestCreate(t *testing.T) {
	tests := []struct {
		name    string
		volume  string
		opts    map[string]string
		wantGB  int
		errHas  string
		creates int
	}{
		{name: "size 10 becomes 16 GB", volume: "data1", opts: map[string]string{"size": "10", "iops": "500"}, wantGB: 16, creates: 1},
		{name: "default size", volume: "data2", wantGB: 16, creates: 1},
		{name: "64-hex anonymous name", volume: strings.Repeat("0f", 32), opts: map[string]string{"size": "1"}, wantGB: 8, creates: 1},
		{name: "bad option refused before any gateway call", volume: "bad", opts: map[string]string{"iops": "5"}, errHas: "option iops=\"5\""},
		{name: "bad name refused", volume: "a/b", errHas: "not valid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t)
			err := c.a.d.Create(ctx, tc.volume, tc.opts)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("error = %v, want one containing %q", err, tc.errHas)
				}
				if n := c.gw.count("CreateVolume"); n != 0 {
					t.Fatalf("CreateVolume called %d times for a refused create", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			info, err := c.a.d.Get(ctx, tc.volume)
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Status["size"]; got != fmt.Sprintf("%d GB", tc.wantGB) {
				t.Fatalf("size = %v, want %d GB", got, tc.wantGB)
			}
			if m := c.gw.mappedTo(c.a.d.namer.ScaleIOName(tc.volume)); len(m) != 0 {
				t.Fatalf("a new volume stays mapped to %v after create", m)
			}
			// idempotent, from the other host too
			if err := c.b.d.Create(ctx, tc.volume, tc.opts); err != nil {
				t.Fatalf("second create from host B: %v", err)
			}
			if n := c.gw.count("CreateVolume"); n != tc.creates {
				t.Fatalf("CreateVolume called %d times, want %d", n, tc.creates)
			}
		})
	}
}

func TestMountCountingAndRelease(t *testing.T) {
	c := newCluster(t)
	if err := c.a.d.Create(ctx, "data1", map[string]string{"iops": "500", "bandwidthKBps": "2048", "mode": "0770"}); err != nil {
		t.Fatal(err)
	}
	sio := c.a.d.namer.ScaleIOName("data1")
	p, err := c.a.d.Mount(ctx, "data1", "m1")
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o770 {
		t.Fatalf("data dir %s: %v, mode %v; want 0770 from -o mode", p, err, st)
	}
	vol, _ := c.gw.FindVolume(ctx, sio)
	if len(vol.Mappings) != 1 || vol.Mappings[0].LimitIops != 500 || vol.Mappings[0].LimitBwMBps != 2 {
		t.Fatalf("mapping after mount = %+v, want sdcA with iops 500 and 2 MB/s", vol.Mappings)
	}
	steps := []struct {
		name       string
		op         string
		id         string
		wantMapped bool
	}{
		{"second container mounts", "mount", "m2", true},
		{"docker cp repeats m2", "mount", "m2", true},
		{"unknown id unmount is a no-op", "unmount", "nope", true},
		{"first container stops", "unmount", "m1", true},
		{"docker cp ends", "unmount", "m2", true},
		{"second container stops: released", "unmount", "m2", false},
		{"late unmount of m2 is a no-op", "unmount", "m2", false},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			var err error
			if s.op == "mount" {
				_, err = c.a.d.Mount(ctx, "data1", s.id)
			} else {
				err = c.a.d.Unmount(ctx, "data1", s.id)
			}
			if err != nil {
				t.Fatal(err)
			}
			mapped := len(c.gw.mappedTo(sio)) == 1
			if mapped != s.wantMapped {
				t.Fatalf("mapped = %v, want %v", mapped, s.wantMapped)
			}
			if p, err := c.a.d.Path("data1"); err != nil || (p != "") != s.wantMapped {
				t.Fatalf("Path = %q, %v; want non-empty %v", p, err, s.wantMapped)
			}
		})
	}
	if n := c.gw.count("Map"); n != 2 { // create's preparation, then the first mount
		t.Fatalf("Map called %d times, want 2", n)
	}
	if c.a.h.rescans != 2 { // one after each release, so the SDC drops the device at once
		t.Fatalf("%d rescans after 2 releases, want 2", c.a.h.rescans)
	}
}

func TestMoveBetweenHosts(t *testing.T) {
	c := newCluster(t)
	if err := c.a.d.Create(ctx, "data1", map[string]string{"iops": "500"}); err != nil {
		t.Fatal(err)
	}
	sio := c.a.d.namer.ScaleIOName("data1")
	pa, err := c.a.d.Mount(ctx, "data1", "a1")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pa, "hello"), []byte("from A"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("refused while host A holds it, naming host A", func(t *testing.T) {
		_, err := c.b.d.Mount(ctx, "data1", "b1")
		if err == nil || !strings.Contains(err.Error(), "hostA") {
			t.Fatalf("error = %v, want a refusal naming hostA", err)
		}
	})
	t.Run("after A releases, B mounts, reads A's file and gets the limits on its mapping", func(t *testing.T) {
		if err := c.a.d.Unmount(ctx, "data1", "a1"); err != nil {
			t.Fatal(err)
		}
		pb, err := c.b.d.Mount(ctx, "data1", "b1")
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(pb, "hello"))
		if err != nil || string(data) != "from A" {
			t.Fatalf("read on B: %q, %v", data, err)
		}
		vol, _ := c.gw.FindVolume(ctx, sio)
		if len(vol.Mappings) != 1 || vol.Mappings[0].SdcID != "sdcB" || vol.Mappings[0].LimitIops != 500 {
			t.Fatalf("mappings %+v, want only sdcB with iops 500", vol.Mappings)
		}
		if c.b.h.mkfs != 0 {
			t.Fatalf("host B formatted an existing file system (%d mkfs)", c.b.h.mkfs)
		}
	})
	t.Run("B dies (SDC disconnected): A takes over", func(t *testing.T) {
		c.gw.mu.Lock()
		c.gw.sdcs[1].Connected = false
		c.gw.mu.Unlock()
		if _, err := c.a.d.Mount(ctx, "data1", "a2"); err != nil {
			t.Fatalf("takeover from a disconnected host: %v", err)
		}
		if m := c.gw.mappedTo(sio); len(m) != 1 || m[0] != "sdcA" {
			t.Fatalf("mapped to %v, want only sdcA", m)
		}
	})
	t.Run("B's stale mount refuses new containers and releases without touching A", func(t *testing.T) {
		_, err := c.b.d.Mount(ctx, "data1", "b-new")
		if err == nil || !strings.Contains(err.Error(), "stale") || !strings.Contains(err.Error(), "hostA") {
			t.Fatalf("error = %v, want a stale-mount refusal naming hostA", err)
		}
		if err := c.b.d.Unmount(ctx, "data1", "b1"); err != nil {
			t.Fatal(err)
		}
		if m := c.gw.mappedTo(sio); len(m) != 1 || m[0] != "sdcA" {
			t.Fatalf("mapped to %v, want only sdcA", m)
		}
	})
	t.Run("forced takeover with -o takeover=true from a connected host", func(t *testing.T) {
		if err := c.b.d.Create(ctx, "data1", map[string]string{"takeover": "true"}); err != nil {
			t.Fatal(err)
		}
		c.b.d = restart(t, c.b.h, c.gw)
		if _, err := c.b.d.Mount(ctx, "data1", "b2"); err != nil {
			t.Fatalf("forced takeover: %v", err)
		}
		if m := c.gw.mappedTo(sio); len(m) != 1 || m[0] != "sdcB" {
			t.Fatalf("mapped to %v, want only sdcB", m)
		}
	})
}

func TestRemove(t *testing.T) {
	c := newCluster(t)
	if err := c.a.d.Create(ctx, "data1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.a.d.Mount(ctx, "data1", "m1"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		m      *machine
		errHas string
	}{
		{"in use here: refused", c.a, "in use on this host"},
		{"in use on host A: refused on B naming A", c.b, "hostA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m.d.Remove(ctx, "data1")
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("error = %v, want %q", err, tc.errHas)
			}
		})
	}
	t.Run("after use: removed", func(t *testing.T) {
		if err := c.a.d.Unmount(ctx, "data1", "m1"); err != nil {
			t.Fatal(err)
		}
		if err := c.b.d.Remove(ctx, "data1"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.gw.FindVolume(ctx, c.a.d.namer.ScaleIOName("data1")); err == nil {
			t.Fatal("volume still exists")
		}
		if err := c.b.d.Remove(ctx, "data1"); err != nil {
			t.Fatalf("removing a removed volume: %v", err)
		}
	})
}

func TestPluginRestartKeepsCounts(t *testing.T) {
	c := newCluster(t)
	if err := c.a.d.Create(ctx, "data1", nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"m1", "m2"} {
		if _, err := c.a.d.Mount(ctx, "data1", id); err != nil {
			t.Fatal(err)
		}
	}
	c.a.d = restart(t, c.a.h, c.gw)
	if err := c.a.d.RecoverCluster(ctx); err != nil {
		t.Fatal(err)
	}
	sio := c.a.d.namer.ScaleIOName("data1")
	steps := []struct {
		id         string
		wantMapped bool
	}{{"m1", true}, {"m2", false}}
	for _, s := range steps {
		t.Run("unmount "+s.id+" after restart", func(t *testing.T) {
			if err := c.a.d.Unmount(ctx, "data1", s.id); err != nil {
				t.Fatal(err)
			}
			if mapped := len(c.gw.mappedTo(sio)) == 1; mapped != s.wantMapped {
				t.Fatalf("mapped = %v, want %v", mapped, s.wantMapped)
			}
		})
	}
	t.Run("host reboot: leftovers released at start", func(t *testing.T) {
		if _, err := c.a.d.Mount(ctx, "data1", "m3"); err != nil {
			t.Fatal(err)
		}
		for t2 := range c.a.h.mounts {
			c.a.h.Unmount(t2) // the reboot unmounted everything
		}
		c.a.d = restart(t, c.a.h, c.gw)
		if err := c.a.d.RecoverCluster(ctx); err != nil {
			t.Fatal(err)
		}
		if m := c.gw.mappedTo(sio); len(m) != 0 {
			t.Fatalf("still mapped to %v after recovery", m)
		}
		if err := c.a.d.Unmount(ctx, "data1", "m3"); err != nil {
			t.Fatalf("unmount of a dropped id: %v", err)
		}
	})
}

func TestGatewayErrorsNameVolumeAndCall(t *testing.T) {
	c := newCluster(t)
	c.gw.fail["FindVolume"] = gateway.ErrUnreachable
	err := c.a.d.Create(ctx, "data1", nil)
	if err == nil || !strings.Contains(err.Error(), "volume data1") || !strings.Contains(err.Error(), "queryIdByKey") || !strings.Contains(err.Error(), "gateway unreachable") {
		t.Fatalf("error = %v", err)
	}
}
