package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// sessionGateway accepts only the token of the latest login, answers 401 (the gateway's JSON
// error shape) to any other, and can expire the current one, as a gateway whose token timed out
// or was revoked does. It holds one volume, "dv-have".
type sessionGateway struct {
	mu     sync.Mutex
	token  string
	logins int
	calls  int
}

func (s *sessionGateway) expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = "expired"
}

func (s *sessionGateway) server(t *testing.T) *httptest.Server {
	j := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	authorized := func(r *http.Request) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		_, pw, _ := r.BasicAuth()
		return pw == s.token
	}
	return fakeREST(t, map[string]func(http.ResponseWriter, *http.Request){
		"/api/login": func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			s.logins++
			s.token = fmt.Sprintf("token%d", s.logins)
			tok := s.token
			s.mu.Unlock()
			j(w, 200, tok)
		},
		"/api/types/Volume/instances/action/queryIdByKey": func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			s.calls++
			s.mu.Unlock()
			if !authorized(r) {
				j(w, 401, map[string]any{"message": "Unauthorized", "httpStatusCode": 401, "errorCode": 0})
				return
			}
			var body map[string]string
			_ = json.NewDecoder(r.Body).Decode(&body)
			if body["name"] != "dv-have" {
				j(w, 500, map[string]any{"message": "Could not find the volume", "httpStatusCode": 500, "errorCode": 79})
				return
			}
			j(w, 200, "v1")
		},
		"/api/instances/Volume::v1": func(w http.ResponseWriter, r *http.Request) {
			if !authorized(r) {
				j(w, 401, map[string]any{"message": "Unauthorized", "httpStatusCode": 401, "errorCode": 0})
				return
			}
			j(w, 200, map[string]any{"id": "v1", "name": "dv-have", "sizeInKb": 8 * 1024 * 1024, "storagePoolId": "sp1"})
		},
	})
}

func TestAnExpiredTokenIsRenewedOncePerCall(t *testing.T) {
	s := &sessionGateway{}
	srv := s.server(t)
	g := New(Config{URL: srv.URL, User: "admin", Password: "pw", System: "sys1", Insecure: true, CallTimeout: 5 * time.Second})
	if v, err := g.FindVolume(context.Background(), "dv-have"); err != nil || v.ID != "v1" {
		t.Fatalf("first call: %+v, %v", v, err)
	}
	for _, tc := range []struct {
		name   string
		volume string
		want   error
		wantID string
	}{
		{"an existing volume after expiry", "dv-have", nil, "v1"},
		// goscaleio's string path loses the retried call's error: it must not read as "all volumes"
		{"a missing volume after expiry is still not found", "dv-missing", ErrNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.expire()
			v, err := g.FindVolume(context.Background(), tc.volume)
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if v.ID != tc.wantID {
				t.Fatalf("volume %+v, want id %q", v, tc.wantID)
			}
		})
	}
	s.mu.Lock()
	logins := s.logins
	s.mu.Unlock()
	if logins < 3 || logins > 5 {
		t.Fatalf("%d logins for 1 start and 2 expiries: want one or two renewals per expiry", logins)
	}
}

func TestARevokedPasswordIsNotRetriedForever(t *testing.T) {
	s := &sessionGateway{}
	srv := s.server(t)
	g := New(Config{URL: srv.URL, User: "admin", Password: "pw", System: "sys1", Insecure: true, CallTimeout: 5 * time.Second})
	if _, err := g.FindVolume(context.Background(), "dv-have"); err != nil {
		t.Fatal(err)
	}
	// Every token is refused from now on (a gateway that never accepts this client again).
	s.mu.Lock()
	s.token = "nobody"
	s.mu.Unlock()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/login" {
			s.mu.Lock()
			s.logins++
			s.mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		_ = json.NewEncoder(w).Encode(map[string]any{"message": "Unauthorized", "httpStatusCode": 401, "errorCode": 0})
	})
	start := time.Now()
	_, err := g.FindVolume(context.Background(), "dv-have")
	if err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Fatalf("error %v, want the gateway's Unauthorized", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logins > 4 || time.Since(start) > 5*time.Second {
		t.Fatalf("%d logins in %v: the renewal is not bounded", s.logins, time.Since(start))
	}
}

func TestPinnedForwarderAnswersTheGatewaysErrorShape(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	wrong := strings.Repeat("ab", 32)
	f, err := StartPinnedForwarderFor(srv.URL, wrong, "/etc/scaleio-volume-plugin/config.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g := New(Config{URL: f.URL, User: "admin", Password: "pw", System: "sys1", CallTimeout: 5 * time.Second})
	_, err = g.FindVolume(context.Background(), "dv-x")
	if !errors.Is(err, ErrCertificateMismatch) {
		t.Fatalf("error %v is not a certificate mismatch", err)
	}
	got := pinOf(srv)
	for _, want := range []string{"sha256 " + got, "pins " + wrong, "run `pulumi up` again", `"gatewayCertSha256": "` + got + `" in /etc/scaleio-volume-plugin/config.json`, "systemctl restart scaleio-volume-plugin"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not contain %q", err, want)
		}
	}
	// A gateway that is down: the forwarder's 502 reads as unreachable, not as a decode error.
	srv.Close()
	_, err = g.FindVolume(context.Background(), "dv-x")
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("gateway down through the forwarder: %v, want ErrUnreachable", err)
	}
}

func TestListVolumesIncludesSnapshots(t *testing.T) {
	srv := fakeREST(t, map[string]func(http.ResponseWriter, *http.Request){
		"/api/types/Volume/instances": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode([]map[string]any{
				{"id": "v1", "name": "dv-src", "sizeInKb": 8 << 20, "storagePoolId": "sp1"},
				{"id": "v2", "name": "dv-snap", "sizeInKb": 8 << 20, "storagePoolId": "sp1", "ancestorVolumeId": "v1"},
			})
		},
	})
	g := New(Config{URL: srv.URL, User: "admin", Password: "pw", System: "sys1", Insecure: true, CallTimeout: 5 * time.Second})
	vols, err := g.ListVolumes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(vols) != 2 || vols[0].ID != "v1" || vols[1].AncestorID != "v1" || vols[1].Name != "dv-snap" {
		t.Fatalf("listed %+v, want the volume and its snapshot (with its ancestor)", vols)
	}
}
