// Command scaleio-volume-plugin is a Docker volume plugin (driver name "scaleio") that gives
// containers ScaleIO volumes: it serves Docker's volume plugin API on
// /run/docker/plugins/scaleio.sock, talks to the cluster's REST gateway, and maps, formats and
// mounts volumes through this host's SDC. See driver/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
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

func main() {
	cfgPath := flag.String("config", config.DefaultPath, "the plugin's root-only JSON config file")
	check := flag.Bool("check-config", false, "read the config, log in to the gateway, find this host's SDC, then exit")
	flag.Parse()
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
	gw := gateway.New(gateway.Config{URL: cfg.Gateway, User: cfg.User, Password: cfg.Password, System: cfg.System, ProtectionDomain: cfg.ProtectionDomain, StoragePool: cfg.StoragePool, Insecure: cfg.Insecure, CallTimeout: 20 * time.Second})
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
	plan, err := d.RecoverLocal()
	if err != nil {
		return fmt.Errorf("rebuild state from /proc/self/mountinfo: %w", err)
	}
	log.Info("state rebuilt from the mounts", "dropped", plan.Dropped)
	go recoverCluster(d, log)
	log.Info("serving", "socket", "/run/docker/plugins/"+PluginName+".sock", "gateway", cfg.Gateway, "system", cfg.System)
	return volume.NewHandler(adapter.New(d, log)).ServeUnix(PluginName, 0)
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
