// Package config reads the plugin's root-only JSON configuration file.
//
// Format (every key a string unless noted; the installer writes it, mode 0600, owner root):
//
//	{
//	  "gateway": "https://10.0.0.1:443",     // REST gateway base URL (required)
//	  "user": "admin",                       // gateway (MDM) user (required)
//	  "password": "...",                     // its password (required; never logged)
//	  "system": "<system id or name>",       // required
//	  "protectionDomain": "pd1",             // required
//	  "storagePool": "sp1",                  // required
//	  "caFile": "/etc/scaleio-volume-plugin/gateway-ca.pem", // trust this CA (optional)
//	  "gatewayCertSha256": "<64 hex>",       // pin the gateway's certificate (optional)
//	  "insecure": false,                     // bool: skip TLS checks (lab only)
//	  "allowTakeover": false,                // bool: take volumes over from connected hosts too
//	  "namePrefix": "dv-",                   // ScaleIO name prefix of the plugin's volumes
//	  "mountRoot": "/var/lib/scaleio-volume-plugin/mounts",
//	  "stateFile": "/var/lib/scaleio-volume-plugin/state.json",
//	  "deviceWaitSeconds": 60                // number: bound on waiting for a mapped device
//	}
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"arrowhead/driver/internal/decide"
)

// DefaultPath is where the installer writes the file.
const DefaultPath = "/etc/scaleio-volume-plugin/config.json"

// Config is the parsed file, defaults applied.
type Config struct {
	Gateway           string `json:"gateway"`
	User              string `json:"user"`
	Password          string `json:"password"`
	System            string `json:"system"`
	ProtectionDomain  string `json:"protectionDomain"`
	StoragePool       string `json:"storagePool"`
	CAFile            string `json:"caFile"`
	GatewayCertSHA256 string `json:"gatewayCertSha256"`
	Insecure          bool   `json:"insecure"`
	AllowTakeover     bool   `json:"allowTakeover"`
	NamePrefix        string `json:"namePrefix"`
	MountRoot         string `json:"mountRoot"`
	StateFile         string `json:"stateFile"`
	DeviceWaitSeconds int    `json:"deviceWaitSeconds"`
}

// DeviceWait is DeviceWaitSeconds as a duration.
func (c Config) DeviceWait() time.Duration { return time.Duration(c.DeviceWaitSeconds) * time.Second }

// Load reads and checks the file. It refuses a file that group or others can read (it holds the
// gateway password) and reports every missing or bad key at once.
func Load(path string) (Config, error) {
	var c Config
	st, err := os.Stat(path)
	if err != nil {
		return c, fmt.Errorf("plugin config %s: %w (the installer writes it; see driver/README.md for its format)", path, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return c, fmt.Errorf("plugin config %s has mode %04o but holds the gateway password: run chmod 600 %s", path, st.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("plugin config %s: %w", path, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("plugin config %s is not valid: %v", path, err)
	}
	if c.NamePrefix == "" {
		c.NamePrefix = decide.DefaultPrefix
	}
	if c.MountRoot == "" {
		c.MountRoot = "/var/lib/scaleio-volume-plugin/mounts"
	}
	if c.StateFile == "" {
		c.StateFile = "/var/lib/scaleio-volume-plugin/state.json"
	}
	if c.DeviceWaitSeconds == 0 {
		c.DeviceWaitSeconds = 60
	}
	var errs []string
	for _, req := range []struct{ key, val string }{{"gateway", c.Gateway}, {"user", c.User}, {"password", c.Password}, {"system", c.System}, {"protectionDomain", c.ProtectionDomain}, {"storagePool", c.StoragePool}} {
		if req.val == "" {
			errs = append(errs, fmt.Sprintf("%q is required", req.key))
		}
	}
	if c.Gateway != "" && !strings.HasPrefix(c.Gateway, "https://") && !strings.HasPrefix(c.Gateway, "http://") {
		errs = append(errs, fmt.Sprintf("\"gateway\" must be a URL such as https://10.0.0.1:443, not %q", c.Gateway))
	}
	if c.DeviceWaitSeconds < 5 || c.DeviceWaitSeconds > 90 {
		errs = append(errs, "\"deviceWaitSeconds\" must be between 5 and 90 (Docker gives a mount 120 s)")
	}
	if c.CAFile != "" {
		if _, err := os.Stat(c.CAFile); err != nil {
			errs = append(errs, fmt.Sprintf("\"caFile\": %v", err))
		}
	}
	if c.GatewayCertSHA256 != "" {
		if !isSHA256Hex(c.GatewayCertSHA256) {
			errs = append(errs, "\"gatewayCertSha256\" must be 64 lower-case hex digits (sha256 of the certificate's DER)")
		}
		if c.Insecure || c.CAFile != "" {
			errs = append(errs, "\"gatewayCertSha256\" pins the certificate: leave \"insecure\" and \"caFile\" unset")
		}
	}
	if _, err := decide.NewNamer(c.NamePrefix); err != nil {
		errs = append(errs, "\"namePrefix\": "+err.Error())
	}
	if len(errs) > 0 {
		return c, errors.New("plugin config " + path + ": " + strings.Join(errs, "; "))
	}
	return c, nil
}

// isSHA256Hex reports whether s is a sha256 digest in lower-case hex.
func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}
