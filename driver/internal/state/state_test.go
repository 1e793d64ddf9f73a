package state

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"arrowhead/driver/internal/decide"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state.json")
	f := &File{Version: 1, Volumes: map[string]*Volume{
		"data1": {ScaleIOName: "dv-data1", VolumeID: "v1", Mounted: true, Mounts: decide.Mounts{"id1": 2, "id2": 1}},
	}}
	if err := Save(path, f); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, f) {
		t.Fatalf("round trip: got %+v, want %+v", got.Volumes["data1"], f.Volumes["data1"])
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".state-*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	t.Run("missing file is empty state", func(t *testing.T) {
		f, err := Load(filepath.Join(dir, "none.json"))
		if err != nil || len(f.Volumes) != 0 {
			t.Fatalf("got %+v, %v", f, err)
		}
	})
	t.Run("corrupt file names the fix", func(t *testing.T) {
		p := filepath.Join(dir, "bad.json")
		if err := os.WriteFile(p, []byte("{not json"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p); err == nil {
			t.Fatal("want an error for a corrupt state file")
		}
	})
}

func TestReconcile(t *testing.T) {
	tests := []struct {
		name        string
		volumes     map[string]*Volume
		obs         Observed
		wantMounts  map[string]int // docker name -> Total after
		wantMounted map[string]bool
		release     []string
		dropped     []string
	}{
		{
			name:        "plugin restart while mounted keeps the counts",
			volumes:     map[string]*Volume{"data1": {ScaleIOName: "dv-data1", Mounted: true, Mounts: decide.Mounts{"a": 1, "b": 2}}},
			obs:         Observed{Mounted: map[string]bool{"data1": true}, MappedHere: map[string]bool{"dv-data1": true}},
			wantMounts:  map[string]int{"data1": 3},
			wantMounted: map[string]bool{"data1": true},
		},
		{
			name:        "host reboot: nothing mounted, counts dropped, mapping released",
			volumes:     map[string]*Volume{"data1": {ScaleIOName: "dv-data1", Mounted: true, Mounts: decide.Mounts{"a": 1}}},
			obs:         Observed{MappedHere: map[string]bool{"dv-data1": true}},
			wantMounts:  map[string]int{"data1": 0},
			wantMounted: map[string]bool{"data1": false},
			release:     []string{"dv-data1"},
			dropped:     []string{"data1"},
		},
		{
			name:        "state lost: a mounted volume is adopted, not released",
			volumes:     map[string]*Volume{},
			obs:         Observed{MountedUnknown: map[string]string{"dv-web": "web"}, MappedHere: map[string]bool{"dv-web": true}},
			wantMounts:  map[string]int{"web": 0},
			wantMounted: map[string]bool{"web": true},
		},
		{
			name:    "mapped here by a crashed mount: released",
			volumes: map[string]*Volume{},
			obs:     Observed{MappedHere: map[string]bool{"dv-x": true, "dv-a": true}},
			release: []string{"dv-a", "dv-x"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &File{Version: 1, Volumes: tc.volumes}
			p := Reconcile(f, tc.obs)
			if !reflect.DeepEqual(p.Release, tc.release) {
				t.Fatalf("Release = %v, want %v", p.Release, tc.release)
			}
			if !reflect.DeepEqual(p.Dropped, tc.dropped) {
				t.Fatalf("Dropped = %v, want %v", p.Dropped, tc.dropped)
			}
			for name, n := range tc.wantMounts {
				v := f.Volumes[name]
				if v == nil {
					t.Fatalf("volume %s missing after Reconcile", name)
				}
				if v.Mounts.Total() != n || v.Mounted != tc.wantMounted[name] {
					t.Fatalf("%s: total %d mounted %v, want %d %v", name, v.Mounts.Total(), v.Mounted, n, tc.wantMounted[name])
				}
			}
		})
	}
}

func TestCloneIsDeep(t *testing.T) {
	v := &Volume{ScaleIOName: "dv-a", Mounts: decide.Mounts{"id1": 1}, Options: &decide.Options{IOPS: 500}}
	c := v.Clone()
	c.Mounts.Add("id2")
	c.Options.IOPS = 0
	c.Mounted = true
	if len(v.Mounts) != 1 || v.Options.IOPS != 500 || v.Mounted {
		t.Fatalf("changing the clone changed the original: %+v %+v", v, v.Options)
	}
	if (*Volume)(nil).Clone() != nil {
		t.Fatal("Clone of nil is not nil")
	}
}

func TestDropInvalidRemovesOnlyInvalidNames(t *testing.T) {
	f := &File{Volumes: map[string]*Volume{
		"data1":                        {ScaleIOName: "dv-data1"},
		"x/../../../../../../tmp/evil": {ScaleIOName: "dv-x_0123"},
		"..":                           {ScaleIOName: "dv-.."},
	}}
	got := DropInvalid(f)
	if !reflect.DeepEqual(got, []string{"..", "x/../../../../../../tmp/evil"}) {
		t.Fatalf("dropped %v", got)
	}
	if len(f.Volumes) != 1 || f.Volumes["data1"] == nil {
		t.Fatalf("left %v", f.Volumes)
	}
}
