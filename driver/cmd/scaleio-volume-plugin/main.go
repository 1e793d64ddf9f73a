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
	flag.Parse()
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
	gatewayURL, stop, err := gatewayEndpoint(cfg)
	if err != nil {
		return err
	}
	defer stop()
	gw := gateway.New(gateway.Config{URL: gatewayURL, User: cfg.User, Password: cfg.Password, System: cfg.System, ProtectionDomain: cfg.ProtectionDomain, StoragePool: cfg.StoragePool, Insecure: cfg.Insecure, CallTimeout: 20 * time.Second})
	d, err := core.New(gw, &host.Host{}, namer, core.Config{Root: cfg.MountRoot, StatePath: cfg.StateFile, AllowTakeover: cfg.AllowTakeover, DeviceWait: cfg.DeviceWait()}, log)
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
	return h.ServeUnix(PluginName, 0)
}

// requestTakeover asks the plugin serving SocketPath for a takeover (adapter.TakeoverPath).
func requestTakeover(name string) error {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", SocketPath)
		},
	}}
	body, _ := json.Marshal(map[string]string{"Name": name})
	resp, err := client.Post("http://plugin"+adapter.TakeoverPath, "application/json", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("ask the plugin at %s: %w (is the scaleio-volume-plugin service running?)", SocketPath, err)
	}
	defer resp.Body.Close()
	var out struct{ Err string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return fmt.Errorf("the plugin at %s answered %s: %w", SocketPath, resp.Status, err)
	}
	if out.Err != "" {
		return errors.New(out.Err)
	}
	return nil
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
func gatewayEndpoint(cfg config.Config) (string, func(), error) {
	if cfg.GatewayCertSHA256 == "" {
		return cfg.Gateway, func() {}, nil
	}
	f, err := gateway.StartPinnedForwarder(cfg.Gateway, cfg.GatewayCertSHA256)
	if err != nil {
		return "", nil, err
	}
	return f.URL, func() { _ = f.Close() }, nil
}
