package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	good := `{"gateway":"https://10.0.0.1:443","user":"admin","password":"s3cret","system":"lab","protectionDomain":"pd1","storagePool":"sp1","insecure":true}`
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		errHas  []string
	}{
		{name: "good file gets defaults", content: good, mode: 0o600},
		{name: "readable by others refused", content: good, mode: 0o644, errHas: []string{"chmod 600"}},
		{name: "missing keys all named", content: `{"gateway":"https://x"}`, mode: 0o600, errHas: []string{`"user" is required`, `"password" is required`, `"storagePool" is required`}},
		{name: "unknown key refused", content: `{"gatway":"x"}`, mode: 0o600, errHas: []string{"gatway"}},
		{name: "gateway not a URL", content: strings.Replace(good, "https://10.0.0.1:443", "10.0.0.1", 1), mode: 0o600, errHas: []string{"must be a URL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.json")
			if err := os.WriteFile(p, []byte(tc.content), tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tc.mode); err != nil {
				t.Fatal(err)
			}
			c, err := Load(p)
			if tc.errHas == nil {
				if err != nil {
					t.Fatal(err)
				}
				if c.NamePrefix != "dv-" || c.DeviceWaitSeconds != 60 || c.MountRoot == "" {
					t.Fatalf("defaults not applied: %+v", c)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error containing %q", tc.errHas)
			}
			for _, s := range tc.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Fatalf("error %q does not contain %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatal("the error shows the password")
			}
		})
	}
}
