package core

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"arrowhead/driver/internal/state"
)

// hostileNames reach the plugin's socket from anyone who can write to it (root): each handler
// must refuse them before it touches the gateway, the host or the state. "x/../../evil" climbs
// from the mount root to the fake host's own directory, where the test looks for it.
var hostileNames = []string{
	"x/../../evil", "x/../../../../../../tmp/evil", "../evil", "..", ".", "", "/tmp/evil",
	"a/b", "-x", ".hidden", "a b", "a\nb", "a\x00b", "a;id", "$(id)", strings.Repeat("a", 256),
}

// handlers calls each of the driver's handlers that takes a name with name.
var handlers = map[string]func(d *Driver, name string) error{
	"Create": func(d *Driver, n string) error { return d.Create(ctx, n, map[string]string{"size": "8"}) },
	"Remove": func(d *Driver, n string) error { return d.Remove(ctx, n) },
	"Mount":  func(d *Driver, n string) error { _, err := d.Mount(ctx, n, "id1"); return err },
	"Unmount": func(d *Driver, n string) error {
		return d.Unmount(ctx, n, "id1")
	},
	"Path":            func(d *Driver, n string) error { _, err := d.Path(n); return err },
	"Get":             func(d *Driver, n string) error { _, err := d.Get(ctx, n); return err },
	"RequestTakeover": func(d *Driver, n string) error { return d.RequestTakeover(n) },
}

// snapshot is what a refused request must leave unchanged.
type snapshot struct {
	stateFile []byte
	records   map[string]state.Volume
	calls     int
	dirs      []string
}

func take(t *testing.T, m *machine, gw *fakeGateway) snapshot {
	t.Helper()
	b, err := os.ReadFile(m.d.cfg.StatePath)
	if err != nil {
		t.Fatal(err)
	}
	s := snapshot{stateFile: b, records: map[string]state.Volume{}}
	m.d.mu.Lock()
	for n, v := range m.d.st.Volumes {
		s.records[n] = *v.Clone()
	}
	m.d.mu.Unlock()
	gw.mu.Lock()
	for _, n := range gw.calls {
		s.calls += n
	}
	gw.mu.Unlock()
	entries, _ := os.ReadDir(m.h.dir)
	for _, e := range entries {
		s.dirs = append(s.dirs, e.Name())
	}
	mounts, _ := os.ReadDir(m.d.cfg.Root)
	for _, e := range mounts {
		s.dirs = append(s.dirs, "mounts/"+e.Name())
	}
	return s
}

func sameState(t *testing.T, before, after snapshot) {
	t.Helper()
	if !bytes.Equal(before.stateFile, after.stateFile) {
		t.Fatalf("state file changed:\n%s\n->\n%s", before.stateFile, after.stateFile)
	}
	if !reflect.DeepEqual(before.records, after.records) {
		t.Fatalf("state in memory changed: %+v -> %+v", before.records, after.records)
	}
	if !reflect.DeepEqual(before.dirs, after.dirs) {
		t.Fatalf("host files changed: %v -> %v", before.dirs, after.dirs)
	}
}

// withVolume returns a cluster where host A created and once mounted data1, so the state file
// exists and holds one record.
func withVolume(t *testing.T) *cluster {
	t.Helper()
	c := newCluster(t)
	if err := c.a.d.Create(ctx, "data1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.a.d.Mount(ctx, "data1", "m1"); err != nil {
		t.Fatal(err)
	}
	if err := c.a.d.Unmount(ctx, "data1", "m1"); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEveryHandlerRefusesHostileNames(t *testing.T) {
	for handler, call := range handlers {
		for _, name := range hostileNames {
			t.Run(handler+"/"+name, func(t *testing.T) {
				c := withVolume(t)
				before := take(t, c.a, c.gw)
				err := call(c.a.d, name)
				if err == nil || !strings.Contains(err.Error(), "is not valid") {
					t.Fatalf("%s(%q) = %v, want a refusal naming the name rule", handler, name, err)
				}
				after := take(t, c.a, c.gw)
				if after.calls != before.calls {
					t.Fatalf("%d gateway call(s) for a refused name", after.calls-before.calls)
				}
				sameState(t, before, after)
				if _, err := os.Lstat(filepath.Join(c.a.h.dir, "evil")); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("%s(%q) left something at the traversal target: %v", handler, name, err)
				}
			})
		}
	}
}

func TestMountAndUnmountRefuseHostileMountIDs(t *testing.T) {
	for _, id := range []string{"../../x", "a/b", "a\nb", strings.Repeat("a", 129)} {
		for op, call := range map[string]func(d *Driver) error{
			"Mount":   func(d *Driver) error { _, err := d.Mount(ctx, "data1", id); return err },
			"Unmount": func(d *Driver) error { return d.Unmount(ctx, "data1", id) },
		} {
			t.Run(op+"/"+id, func(t *testing.T) {
				c := withVolume(t)
				before := take(t, c.a, c.gw)
				if err := call(c.a.d); err == nil || !strings.Contains(err.Error(), "mount ID") {
					t.Fatalf("%s with ID %q = %v, want a refusal", op, id, err)
				}
				after := take(t, c.a, c.gw)
				if after.calls != before.calls {
					t.Fatalf("%d gateway call(s) for a refused mount ID", after.calls-before.calls)
				}
				sameState(t, before, after)
			})
		}
	}
}

// TestFailedMountOrCreateLeavesStateAsItWas: the state records only volumes really attached.
func TestFailedMountOrCreateLeavesStateAsItWas(t *testing.T) {
	boom := errors.New("injected gateway failure")
	tests := []struct {
		name   string
		setup  func(c *cluster)
		call   func(c *cluster) error
		errHas string
	}{
		{"mount of a volume that does not exist", nil,
			func(c *cluster) error { _, err := c.a.d.Mount(ctx, "ghost", "m2"); return err }, "no ScaleIO volume dv-ghost"},
		{"mount while another host holds the volume",
			func(c *cluster) {
				if _, err := c.b.d.Mount(ctx, "data1", "b1"); err != nil {
					panic(err)
				}
			},
			func(c *cluster) error { _, err := c.a.d.Mount(ctx, "data1", "m2"); return err }, "refused"},
		{"mount whose mapping fails", func(c *cluster) { c.gw.fail["Map"] = boom },
			func(c *cluster) error { _, err := c.a.d.Mount(ctx, "data1", "m2"); return err }, "addMappedSdc"},
		{"mount whose limits fail (mapping undone)", func(c *cluster) { c.gw.fail["SetLimits"] = boom },
			func(c *cluster) error { _, err := c.a.d.Mount(ctx, "data1", "m2"); return err }, "setMappedSdcLimits"},
		{"mount while the gateway fails", func(c *cluster) { c.gw.fail["FindVolume"] = boom },
			func(c *cluster) error { _, err := c.a.d.Mount(ctx, "ghost", "m2"); return err }, "queryIdByKey"},
		{"create whose gateway call fails", func(c *cluster) { c.gw.fail["CreateVolume"] = boom },
			func(c *cluster) error { return c.a.d.Create(ctx, "new1", nil) }, "create Volume"},
		{"create whose preparation fails (volume removed again)", func(c *cluster) { c.gw.fail["Map"] = boom },
			func(c *cluster) error { return c.a.d.Create(ctx, "new2", nil) }, "removed again"},
		{"create with an option out of range", nil,
			func(c *cluster) error { return c.a.d.Create(ctx, "new3", map[string]string{"uid": "4294967296"}) }, "option uid=\"4294967296\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := withVolume(t)
			if tc.setup != nil {
				tc.setup(c)
			}
			before := take(t, c.a, c.gw)
			err := tc.call(c)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("error = %v, want one containing %q", err, tc.errHas)
			}
			sameState(t, before, take(t, c.a, c.gw))
			// A later save (another volume's create) must not carry a half-made record either.
			c.gw.fail = map[string]error{}
			if err := c.a.d.Create(ctx, "later", nil); err != nil {
				t.Fatal(err)
			}
			f, err := state.Load(c.a.d.cfg.StatePath)
			if err != nil {
				t.Fatal(err)
			}
			for n := range f.Volumes {
				if n != "data1" && n != "later" {
					t.Fatalf("state holds %q after a failed request", n)
				}
			}
			if got := f.Volumes["data1"]; got.Mounted || got.Mounts.Total() != 0 {
				t.Fatalf("data1 recorded as mounted here after a failed mount: %+v", got)
			}
		})
	}
}

// TestRestartDropsInvalidNamesFromAnOldStateFile: a state file written before names were
// checked everywhere loses such records at start.
func TestRestartDropsInvalidNamesFromAnOldStateFile(t *testing.T) {
	c := withVolume(t)
	f, err := state.Load(c.a.d.cfg.StatePath)
	if err != nil {
		t.Fatal(err)
	}
	evil := "x/../../../../../../tmp/evil"
	f.Volumes[evil] = &state.Volume{ScaleIOName: c.a.d.namer.ScaleIOName(evil)}
	if err := state.Save(c.a.d.cfg.StatePath, f); err != nil {
		t.Fatal(err)
	}
	d := restart(t, c.a.h, c.gw)
	if d.lookup(evil) != nil || d.lookup("data1") == nil {
		t.Fatal("restart kept the invalid record or lost the valid one")
	}
	b, _ := os.ReadFile(d.cfg.StatePath)
	if bytes.Contains(b, []byte("evil")) {
		t.Fatalf("state file still holds the invalid name:\n%s", b)
	}
}
