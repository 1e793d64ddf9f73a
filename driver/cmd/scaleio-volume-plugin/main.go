// Command scaleio-volume-plugin is a Docker volume plugin (driver name "scaleio") that gives
// containers ScaleIO volumes: it serves Docker's volume plugin API on
// /run/docker/plugins/scaleio.sock, talks to the cluster's REST gateway, and maps, formats and
// mounts volumes through this host's SDC. See driver/README.md.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/docker/go-plugins-helpers/volume"

	"arrowhead/driver/internal/adapter"
	"arrowhead/driver/internal/config"
	"arrowhead/driver/internal/core"
	"arrowhead/driver/internal/decide"
	"arrowhead/driver/internal/gateway"
	"arrowhead/driver/internal/host"
)

// PluginName is the driver name users pass to `docker volume create -d`.
const PluginName = "scaleio"

// SocketPath is where Docker finds the plugin (its name is the driver name).
const SocketPath = "/run/docker/plugins/" + PluginName + ".sock"

func main() {
	cfgPath := flag.String("config", config.DefaultPath, "the plugin's root-only JSON config file")
	check := flag.Bool("check-config", false, "read the config, log in to the gateway, find this host's SDC, then exit")
	takeover := flag.String("takeover", "", "ask the running plugin to take volume `NAME` over from another host at its next mount here, then exit")
	resize := flag.String("resize", "", "`NAME SIZE_GB`: ask the running plugin to grow volume NAME to SIZE_GB (rounded up to 8 GB) and its file system, online, then exit")
	flag.Parse()
	if *resize != "" {
		os.Exit(resizeCommand(*resize, flag.Args()))
	}
	if *takeover != "" {
		if err := requestTakeover(*takeover); err != nil {
			fmt.Fprintln(os.Stderr, "scaleio-volume-plugin:", err)
			os.Exit(1)
		}
		fmt.Printf("takeover of %s requested: the next mount on this host takes it over\n", *takeover)
		return
	}
	level := slog.LevelInfo
	if os.Getenv("SCALEIO_PLUGIN_DEBUG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if err := run(*cfgPath, *check, log); err != nil {
		log.Error(err.Error())
		fmt.Fprintln(os.Stderr, "scaleio-volume-plugin:", err)
		os.Exit(1)
	}
}

func run(cfgPath string, check bool, log *slog.Logger) error {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	if cfg.CAFile != "" {
		// Go reads SSL_CERT_FILE when it first loads the system roots, which goscaleio uses.
		os.Setenv("SSL_CERT_FILE", cfg.CAFile)
	}
	namer, err := decide.NewNamer(cfg.NamePrefix)
	if err != nil {
		return err
	}
	gatewayURL, stop, err := gatewayEndpoint(cfg, cfgPath)
	if err != nil {
		return err
	}
	defer stop()
	gw := gateway.New(gateway.Config{URL: gatewayURL, User: cfg.User, Password: cfg.Password, System: cfg.System, Insecure: cfg.Insecure, CallTimeout: 20 * time.Second})
	d, err := core.New(gw, &host.Host{}, namer, core.Config{Root: cfg.MountRoot, StatePath: cfg.StateFile, AllowTakeover: cfg.AllowTakeover, DeviceWait: cfg.DeviceWait(), ProtectionDomain: cfg.ProtectionDomain, Pool: cfg.StoragePool}, log)
	if err != nil {
		return err
	}
	if check {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		sdc, sys, err := d.Check(ctx)
		if err != nil {
			return fmt.Errorf("check: %w", err)
		}
		log.Info("config ok: gateway answered and this host's SDC is registered", "gateway", cfg.Gateway, "system", sys, "sdc", sdc)
		return nil
	}
	// goscaleio prints some lookups to stdout (fmt.Printf); the plugin logs to stderr only.
	if devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		os.Stdout = devnull
	}
	plan, err := d.RecoverLocal()
	if err != nil {
		return fmt.Errorf("rebuild state from /proc/self/mountinfo: %w", err)
	}
	log.Info("state rebuilt from the mounts", "dropped", plan.Dropped)
	go recoverCluster(d, log)
	log.Info("serving", "socket", SocketPath, "gateway", cfg.Gateway, "system", cfg.System)
	a := adapter.New(d, log)
	h := volume.NewHandler(a)
	a.RegisterTakeover(h)
	a.RegisterResize(h)
	return h.ServeUnix(PluginName, 0)
}

// pluginClient talks HTTP to the plugin serving SocketPath.
func pluginClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", SocketPath)
		},
	}}
}

// askPlugin POSTs req to the plugin's path and decodes its answer into out (which has an Err).
func askPlugin(path string, timeout time.Duration, req any, out any) error {
	body, _ := json.Marshal(req)
	resp, err := pluginClient(timeout).Post("http://plugin"+path, "application/json", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("ask the plugin at %s: %w (is the scaleio-volume-plugin service running?)", SocketPath, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("the plugin at %s answered %s: %w", SocketPath, resp.Status, err)
	}
	return nil
}

// requestTakeover asks the plugin serving SocketPath for a takeover (adapter.TakeoverPath).
func requestTakeover(name string) error {
	var out struct{ Err string }
	if err := askPlugin(adapter.TakeoverPath, 30*time.Second, map[string]string{"Name": name}, &out); err != nil {
		return err
	}
	if out.Err != "" {
		return errors.New(out.Err)
	}
	return nil
}

// resizeCommand runs `-resize NAME SIZE_GB` against the running plugin and returns the exit
// status: 0 grown (or already that size), 1 refused or failed, 2 bad usage.
func resizeCommand(name string, args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: scaleio-volume-plugin -resize NAME SIZE_GB (e.g. -resize data1 32)")
		return 2
	}
	size, ok := decide.SizeGB(args[0])
	if !ok {
		fmt.Fprintf(os.Stderr, "scaleio-volume-plugin: size %q: want a whole number of GB from 1 to %d\n", args[0], decide.MaxSizeGB)
		return 2
	}
	var out struct {
		Err          string
		FromGB, ToGB int
		FsType       string
	}
	if err := askPlugin(adapter.ResizePath, adapter.ResizeTimeout+30*time.Second, map[string]any{"Name": name, "SizeGB": size}, &out); err != nil {
		fmt.Fprintln(os.Stderr, "scaleio-volume-plugin:", err)
		return 1
	}
	if out.Err != "" {
		fmt.Fprintln(os.Stderr, "scaleio-volume-plugin:", out.Err)
		return 1
	}
	if out.FromGB == out.ToGB {
		fmt.Printf("%s is already %d GB; its %s file system fills it\n", name, out.ToGB, out.FsType)
		return 0
	}
	fmt.Printf("%s grown from %d GB to %d GB; its %s file system grown online\n", name, out.FromGB, out.ToGB, out.FsType)
	return 0
}

// recoverCluster releases volumes left mapped to this host, retrying while the gateway is
// unreachable (the plugin starts before Docker, possibly before the gateway).
func recoverCluster(d *core.Driver, log *slog.Logger) {
	for attempt := 1; attempt <= 60; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
		err := d.RecoverCluster(ctx)
		cancel()
		if err == nil {
			log.Info("cluster state reconciled")
			return
		}
		log.Warn("could not reconcile with the cluster yet; retrying in 10 s", "attempt", attempt, "error", err.Error())
		time.Sleep(10 * time.Second)
	}
}

// gatewayEndpoint is the URL goscaleio talks to: the gateway itself, or, with a pinned
// certificate, a loopback forwarder that verifies it (see gateway.PinnedForwarder).
func gatewayEndpoint(cfg config.Config, cfgPath string) (string, func(), error) {
	if cfg.GatewayCertSHA256 == "" {
		return cfg.Gateway, func() {}, nil
	}
	f, err := gateway.StartPinnedForwarderFor(cfg.Gateway, cfg.GatewayCertSHA256, cfgPath)
	if err != nil {
		return "", nil, err
	}
	return f.URL, func() { _ = f.Close() }, nil
}
