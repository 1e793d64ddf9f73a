package adapter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/docker/go-connections/sockets"
	"github.com/docker/go-plugins-helpers/volume"

	"arrowhead/driver/internal/core"
)

// countingCore records calls per method and answers from a map of volumes.
type countingCore struct {
	mu       sync.Mutex
	calls    map[string]int
	lastOpts map[string]string
	deadline bool // every call got a context with a deadline
	fail     error
}

func (c *countingCore) hit(ctx context.Context, m string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[m]++
	if ctx != nil {
		if _, ok := ctx.Deadline(); !ok {
			c.deadline = false
		}
	}
	return c.fail
}

func (c *countingCore) Create(ctx context.Context, name string, opts map[string]string) error {
	c.lastOpts = opts
	return c.hit(ctx, "Create")
}
func (c *countingCore) Remove(ctx context.Context, name string) error { return c.hit(ctx, "Remove") }
func (c *countingCore) Mount(ctx context.Context, name, id string) (string, error) {
	return "/mnt/" + name + "/data", c.hit(ctx, "Mount")
}
func (c *countingCore) Unmount(ctx context.Context, name, id string) error {
	return c.hit(ctx, "Unmount")
}
func (c *countingCore) Get(ctx context.Context, name string) (core.Info, error) {
	return core.Info{Status: map[string]any{"size": "16 GB"}}, c.hit(ctx, "Get")
}
func (c *countingCore) List(ctx context.Context) ([]core.Listed, error) {
	return []core.Listed{{Name: "data1"}}, c.hit(ctx, "List")
}
func (c *countingCore) Path(name string) (string, error) { return "", c.hit(nil, "Path") }
func (c *countingCore) RequestTakeover(name string) error {
	return c.hit(nil, "RequestTakeover")
}
func (c *countingCore) Resize(ctx context.Context, name string, sizeGB int) (core.Resized, error) {
	return core.Resized{FromGB: 16, ToGB: sizeGB, FsType: "xfs"}, c.hit(ctx, "Resize")
}

func serve(t *testing.T, c *countingCore) *http.Client {
	t.Helper()
	l := sockets.NewInmemSocket("scaleio-test", 0)
	a := New(c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h := volume.NewHandler(a)
	a.RegisterTakeover(h)
	a.RegisterResize(h)
	go h.Serve(l)
	t.Cleanup(func() { l.Close() })
	return &http.Client{Transport: &http.Transport{Dial: l.Dial}}
}

func post(t *testing.T, client *http.Client, path string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := client.Post("http://plugin"+path, "application/vnd.docker.plugins.v1+json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: decode: %v", path, err)
	}
	return out
}

func TestProtocolOverHTTP(t *testing.T) {
	c := &countingCore{calls: map[string]int{}, deadline: true}
	client := serve(t, c)
	tests := []struct {
		name   string
		path   string
		body   any
		method string
		check  func(map[string]any) bool
	}{
		{"activate announces a volume driver", "/Plugin.Activate", nil, "", func(r map[string]any) bool {
			impl, _ := r["Implements"].([]any)
			return len(impl) == 1 && impl[0] == "VolumeDriver"
		}},
		{"create passes the options", "/VolumeDriver.Create", map[string]any{"Name": "data1", "Opts": map[string]string{"size": "10"}}, "Create", func(r map[string]any) bool { return c.lastOpts["size"] == "10" }},
		{"mount returns the mountpoint", "/VolumeDriver.Mount", map[string]any{"Name": "data1", "ID": "abc"}, "Mount", func(r map[string]any) bool { return r["Mountpoint"] == "/mnt/data1/data" }},
		{"unmount", "/VolumeDriver.Unmount", map[string]any{"Name": "data1", "ID": "abc"}, "Unmount", func(map[string]any) bool { return true }},
		{"get has the status", "/VolumeDriver.Get", map[string]any{"Name": "data1"}, "Get", func(r map[string]any) bool {
			v, _ := r["Volume"].(map[string]any)
			s, _ := v["Status"].(map[string]any)
			return v["Name"] == "data1" && s["size"] == "16 GB"
		}},
		{"list", "/VolumeDriver.List", map[string]any{}, "List", func(r map[string]any) bool {
			v, _ := r["Volumes"].([]any)
			return len(v) == 1
		}},
		{"path", "/VolumeDriver.Path", map[string]any{"Name": "data1"}, "Path", func(map[string]any) bool { return true }},
		{"remove", "/VolumeDriver.Remove", map[string]any{"Name": "data1"}, "Remove", func(map[string]any) bool { return true }},
		{"takeover request (the plugin's own endpoint)", TakeoverPath, map[string]any{"Name": "data1"}, "RequestTakeover", func(map[string]any) bool { return true }},
		{"resize request (the plugin's own endpoint) gives the sizes", ResizePath, map[string]any{"Name": "data1", "SizeGB": 24}, "Resize", func(r map[string]any) bool {
			return r["FromGB"] == float64(16) && r["ToGB"] == float64(24) && r["FsType"] == "xfs"
		}},
		{"capabilities: global scope", "/VolumeDriver.Capabilities", map[string]any{}, "", func(r map[string]any) bool {
			cp, _ := r["Capabilities"].(map[string]any)
			return cp["Scope"] == "global"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := c.calls[tc.method]
			r := post(t, client, tc.path, tc.body)
			if e, _ := r["Err"].(string); e != "" {
				t.Fatalf("Err = %q", e)
			}
			if !tc.check(r) {
				t.Fatalf("unexpected reply %v", r)
			}
			if tc.method != "" && c.calls[tc.method] != before+1 {
				t.Fatalf("%s called %d times, want %d", tc.method, c.calls[tc.method], before+1)
			}
		})
	}
	if !c.deadline {
		t.Fatal("a core call got a context without a deadline")
	}
}

func TestErrorsReachDockerAsOneLine(t *testing.T) {
	c := &countingCore{calls: map[string]int{}, deadline: true, fail: errors.New("volume data1: gateway call addMappedSdc failed:\nThe volume is already mapped")}
	client := serve(t, c)
	for _, tc := range []struct{ name, path string }{
		{"takeover", TakeoverPath},
		{"resize", ResizePath},
		{"create", "/VolumeDriver.Create"},
		{"mount", "/VolumeDriver.Mount"},
		{"remove", "/VolumeDriver.Remove"},
		{"unmount", "/VolumeDriver.Unmount"},
		{"get", "/VolumeDriver.Get"},
		{"path (a refused name reaches Docker too)", "/VolumeDriver.Path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, client, tc.path, map[string]any{"Name": "data1", "ID": "x"})
			e, _ := r["Err"].(string)
			if e != "volume data1: gateway call addMappedSdc failed: The volume is already mapped" {
				t.Fatalf("Err = %q", e)
			}
			if strings.Contains(e, "\n") {
				t.Fatal("multi-line error")
			}
		})
	}
}
