// Package adapter connects Docker's volume plugin protocol (go-plugins-helpers' volume.Driver)
// to the driver's core: each call gets a bounded context, is logged once with its fields, and
// its error is returned as one line, which Docker shows as "VolumeDriver.<Method>: <Err>".
package adapter

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/docker/go-plugins-helpers/volume"

	"arrowhead/driver/internal/core"
)

// Budgets per call. moby's volume driver proxy waits 2 minutes for Create and Mount and 1 minute
// for the other calls (volume/drivers/proxy.go); these stay below, so the user sees the
// driver's own error instead of Docker's timeout.
const (
	CreateTimeout = 100 * time.Second
	MountTimeout  = 100 * time.Second
	OtherTimeout  = 50 * time.Second
)

// Core is what the adapter needs of core.Driver (a fake in tests).
type Core interface {
	Create(ctx context.Context, name string, opts map[string]string) error
	Remove(ctx context.Context, name string) error
	Mount(ctx context.Context, name, id string) (string, error)
	Unmount(ctx context.Context, name, id string) error
	Get(ctx context.Context, name string) (core.Info, error)
	List(ctx context.Context) ([]core.Listed, error)
	Path(name string) (string, error)
	RequestTakeover(name string) error
	Resize(ctx context.Context, name string, sizeGB int) (core.Resized, error)
}

// TakeoverPath is the plugin's own endpoint (not part of Docker's protocol) behind
// `scaleio-volume-plugin -takeover NAME`: POST {"Name": "..."} -> {"Err": ""}.
const TakeoverPath = "/ScaleIO.RequestTakeover"

// ResizePath is the plugin's own endpoint behind `scaleio-volume-plugin -resize NAME SIZE_GB`:
// POST {"Name": "...", "SizeGB": n} -> {"Err": "", "FromGB": n, "ToGB": n, "FsType": "xfs"}.
const ResizePath = "/ScaleIO.Resize"

// ResizeTimeout bounds a resize: no Docker call waits on it, but the setVolumeSize, the rescans
// until the kernel sees the new size and the file system's growth must end.
const ResizeTimeout = 5 * time.Minute

// Mux is where extra endpoints are registered (go-plugins-helpers' sdk.Handler).
type Mux interface {
	HandleFunc(path string, fn func(w http.ResponseWriter, r *http.Request))
}

// RegisterTakeover adds TakeoverPath to the plugin's socket (root-only, like Docker's calls).
func (a *Adapter) RegisterTakeover(m Mux) {
	m.HandleFunc(TakeoverPath, func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Name string }
		start := time.Now()
		err := json.NewDecoder(r.Body).Decode(&req)
		if err == nil {
			err = a.core.RequestTakeover(req.Name)
		}
		err = a.done("RequestTakeover", start, err, "volume", req.Name)
		w.Header().Set("Content-Type", "application/vnd.docker.plugins.v1+json")
		resp := map[string]string{"Err": ""}
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			resp["Err"] = err.Error()
		}
		_ = json.NewEncoder(w).Encode(resp)
	})
}

// RegisterResize adds ResizePath to the plugin's socket (root-only, like Docker's calls).
func (a *Adapter) RegisterResize(m Mux) {
	m.HandleFunc(ResizePath, func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Name   string
			SizeGB int
		}
		start := time.Now()
		var res core.Resized
		err := json.NewDecoder(r.Body).Decode(&req)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), ResizeTimeout)
			res, err = a.core.Resize(ctx, req.Name, req.SizeGB)
			cancel()
		}
		err = a.done("Resize", start, err, "volume", req.Name, "sizeGB", req.SizeGB)
		w.Header().Set("Content-Type", "application/vnd.docker.plugins.v1+json")
		resp := map[string]any{"Err": "", "FromGB": res.FromGB, "ToGB": res.ToGB, "FsType": res.FsType}
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			resp["Err"] = err.Error()
		}
		_ = json.NewEncoder(w).Encode(resp)
	})
}

// Adapter implements volume.Driver.
type Adapter struct {
	core Core
	log  *slog.Logger
}

var _ volume.Driver = (*Adapter)(nil)

// New returns an Adapter over c.
func New(c Core, log *slog.Logger) *Adapter {
	return &Adapter{core: c, log: log}
}

// oneLine keeps Docker's one-line error display intact.
type oneLine struct{ msg string }

func (e oneLine) Error() string { return e.msg }

func (a *Adapter) done(method string, start time.Time, err error, attrs ...any) error {
	attrs = append([]any{"method", method, "ms", time.Since(start).Milliseconds()}, attrs...)
	if err != nil {
		a.log.Error(err.Error(), attrs...)
		return oneLine{strings.Join(strings.Fields(err.Error()), " ")}
	}
	a.log.Info("ok", attrs...)
	return nil
}

// optionKeys lists the option names only: values may be secret-like and are never logged.
func optionKeys(opts map[string]string) []string {
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	return keys
}

// Create implements volume.Driver.
func (a *Adapter) Create(r *volume.CreateRequest) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), CreateTimeout)
	defer cancel()
	err := a.core.Create(ctx, r.Name, r.Options)
	return a.done("Create", start, err, "volume", r.Name, "options", optionKeys(r.Options))
}

// Remove implements volume.Driver.
func (a *Adapter) Remove(r *volume.RemoveRequest) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), OtherTimeout)
	defer cancel()
	return a.done("Remove", start, a.core.Remove(ctx, r.Name), "volume", r.Name)
}

// Mount implements volume.Driver.
func (a *Adapter) Mount(r *volume.MountRequest) (*volume.MountResponse, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), MountTimeout)
	defer cancel()
	p, err := a.core.Mount(ctx, r.Name, r.ID)
	if err := a.done("Mount", start, err, "volume", r.Name, "id", r.ID, "mountpoint", p); err != nil {
		return nil, err
	}
	return &volume.MountResponse{Mountpoint: p}, nil
}

// Unmount implements volume.Driver.
func (a *Adapter) Unmount(r *volume.UnmountRequest) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), OtherTimeout)
	defer cancel()
	return a.done("Unmount", start, a.core.Unmount(ctx, r.Name, r.ID), "volume", r.Name, "id", r.ID)
}

// Get implements volume.Driver.
func (a *Adapter) Get(r *volume.GetRequest) (*volume.GetResponse, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), OtherTimeout)
	defer cancel()
	info, err := a.core.Get(ctx, r.Name)
	if err := a.done("Get", start, err, "volume", r.Name); err != nil {
		return nil, err
	}
	return &volume.GetResponse{Volume: &volume.Volume{Name: r.Name, Mountpoint: info.Mountpoint, Status: info.Status}}, nil
}

// List implements volume.Driver.
func (a *Adapter) List() (*volume.ListResponse, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), OtherTimeout)
	defer cancel()
	vols, err := a.core.List(ctx)
	if err := a.done("List", start, err, "count", len(vols)); err != nil {
		return nil, err
	}
	out := &volume.ListResponse{Volumes: []*volume.Volume{}}
	for _, v := range vols {
		out.Volumes = append(out.Volumes, &volume.Volume{Name: v.Name, Mountpoint: v.Mountpoint})
	}
	return out, nil
}

// Path implements volume.Driver. Only refusals are logged: Docker asks often.
func (a *Adapter) Path(r *volume.PathRequest) (*volume.PathResponse, error) {
	p, err := a.core.Path(r.Name)
	if err != nil {
		return nil, a.done("Path", time.Now(), err, "volume", r.Name)
	}
	return &volume.PathResponse{Mountpoint: p}, nil
}

// Capabilities implements volume.Driver: "global", one volume is seen by every host.
func (a *Adapter) Capabilities() *volume.CapabilitiesResponse {
	return &volume.CapabilitiesResponse{Capabilities: volume.Capability{Scope: "global"}}
}
