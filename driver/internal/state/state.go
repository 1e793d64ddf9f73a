// Package state persists what the driver knows per volume on this host (mount counts per
// Docker mount ID included) as JSON, written to a temporary file and renamed over the old one,
// so a crash leaves either the old or the new file.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"arrowhead/driver/internal/decide"
)

// Volume is the per-volume record, keyed by Docker name in File.Volumes.
type Volume struct {
	// ScaleIOName is the derived ScaleIO name (decide.Namer).
	ScaleIOName string `json:"scaleioName"`
	// VolumeID is the ScaleIO volume id, once known.
	VolumeID string `json:"volumeId,omitempty"`
	// Mounted is true while the volume's file system is mounted on this host.
	Mounted bool `json:"mounted,omitempty"`
	// Mounts counts Mount calls per Docker mount ID.
	Mounts decide.Mounts `json:"mounts,omitempty"`
	// Options are the volume's settings as last read from (or written to) the volume's own
	// metadata; the volume is the source of truth, this is a cache for inspect.
	Options *decide.Options `json:"options,omitempty"`
	// TakeoverRequested is set by `docker volume create -o takeover=true` on this host and
	// cleared after the next successful mount.
	TakeoverRequested bool `json:"takeoverRequested,omitempty"`
}

// Clone returns a deep copy of v (nil for nil), for changes committed only once they worked.
func (v *Volume) Clone() *Volume {
	if v == nil {
		return nil
	}
	c := *v
	if v.Mounts != nil {
		c.Mounts = decide.Mounts{}
		for id, n := range v.Mounts {
			c.Mounts[id] = n
		}
	}
	if v.Options != nil {
		o := *v.Options
		c.Options = &o
	}
	return &c
}

// File is the whole state file.
type File struct {
	Version int                `json:"version"`
	Volumes map[string]*Volume `json:"volumes"`
}

// Load reads path; a missing file is an empty state.
func Load(path string) (*File, error) {
	f := &File{Version: 1, Volumes: map[string]*Volume{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state %s: %w", path, err)
	}
	if err := json.Unmarshal(data, f); err != nil {
		return nil, fmt.Errorf("state %s is not valid JSON (%v): move it away and restart the plugin; it is rebuilt from /proc/mounts and the cluster's mappings", path, err)
	}
	if f.Volumes == nil {
		f.Volumes = map[string]*Volume{}
	}
	return f, nil
}

// Save writes f to path atomically (temp file in the same directory, fsync, rename), mode 0600.
func Save(path string, f *File) error {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".state-*.tmp")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// DropInvalid removes the records whose Docker name fails decide.ValidDockerName (a state file
// written before every handler checked names could hold one, such as "x/../../tmp/evil") and
// returns the names dropped, sorted. Pure: the caller logs and saves.
func DropInvalid(f *File) []string {
	var dropped []string
	for name := range f.Volumes {
		if decide.ValidDockerName(name) != nil {
			delete(f.Volumes, name)
			dropped = append(dropped, name)
		}
	}
	sortStrings(dropped)
	return dropped
}

// Observed is what the host and the cluster say at start, for Reconcile.
type Observed struct {
	// Mounted maps Docker names whose file system is mounted at their mount point now.
	Mounted map[string]bool
	// MountedUnknown lists ScaleIO names mounted under the plugin's root that the state does
	// not know (the state file was lost): they are adopted with no known mount IDs.
	MountedUnknown map[string]string // scaleio name -> docker name if it can be read back
	// MappedHere maps ScaleIO names of the plugin's volumes mapped to this host's SDC.
	MappedHere map[string]bool
}

// Plan is what Reconcile decided: the rebuilt state and which volumes to release.
type Plan struct {
	// Release lists ScaleIO names mapped here with nothing mounted: unmap them.
	Release []string
	// Dropped lists Docker names whose mount counts were dropped because nothing is mounted
	// (the host rebooted, so the containers that held them are gone).
	Dropped []string
}

// Reconcile rebuilds f from what is observed at start: counts survive only for volumes still
// mounted; volumes mounted but unknown are adopted; volumes mapped here but not mounted are
// released. Pure: it changes f and returns the plan, the caller does the I/O.
func Reconcile(f *File, obs Observed) Plan {
	var p Plan
	known := map[string]bool{}
	for name, v := range f.Volumes {
		known[v.ScaleIOName] = true
		v.Mounted = obs.Mounted[name]
		if !v.Mounted && v.Mounts.Total() > 0 {
			v.Mounts = nil
			p.Dropped = append(p.Dropped, name)
		}
	}
	for sio, docker := range obs.MountedUnknown {
		if known[sio] || docker == "" {
			continue
		}
		f.Volumes[docker] = &Volume{ScaleIOName: sio, Mounted: true}
		known[sio] = true
	}
	mountedSIO := map[string]bool{}
	for name, v := range f.Volumes {
		if obs.Mounted[name] {
			mountedSIO[v.ScaleIOName] = true
		}
	}
	for sio := range obs.MountedUnknown {
		mountedSIO[sio] = true
	}
	for sio := range obs.MappedHere {
		if !mountedSIO[sio] {
			p.Release = append(p.Release, sio)
		}
	}
	sortStrings(p.Release)
	sortStrings(p.Dropped)
	return p
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
