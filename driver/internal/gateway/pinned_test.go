package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func pinOf(srv *httptest.Server) string {
	sum := sha256.Sum256(srv.Certificate().Raw)
	return hex.EncodeToString(sum[:])
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	r, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r.StatusCode, string(b)
}

func TestPinnedForwarderPassesTheGatewayWithThePinnedCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "path="+r.URL.Path+" auth="+r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	f, err := StartPinnedForwarder(srv.URL, pinOf(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !strings.HasPrefix(f.URL, "http://127.0.0.1:") {
		t.Fatalf("forwarder URL %q is not on loopback", f.URL)
	}
	req, _ := http.NewRequest("GET", f.URL+"/api/login", nil)
	req.SetBasicAuth("admin", "pw")
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	if r.StatusCode != 200 || !strings.Contains(string(b), "path=/api/login auth=Basic ") {
		t.Fatalf("got %d %q", r.StatusCode, b)
	}
}

func TestPinnedForwarderRefusesAnotherCertificate(t *testing.T) {
	reached := false
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
	defer srv.Close()
	f, err := StartPinnedForwarder(srv.URL, strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	code, body := get(t, f.URL+"/api/login")
	if code != http.StatusBadGateway || !strings.Contains(body, "not the pinned one") || reached {
		t.Fatalf("got %d %q, reached=%v", code, body, reached)
	}
}

func TestStartPinnedForwarderRefusesBadInput(t *testing.T) {
	for _, c := range []struct{ url, pin string }{
		{"http://10.0.0.1:443", strings.Repeat("ab", 32)},
		{"https://10.0.0.1:443", "abc"},
		{"https://10.0.0.1:443", strings.Repeat("zz", 32)},
	} {
		if f, err := StartPinnedForwarder(c.url, c.pin); err == nil {
			_ = f.Close()
			t.Errorf("%s %s: accepted", c.url, c.pin)
		}
	}
}
