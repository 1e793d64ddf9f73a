package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakeREST answers the few gateway paths login needs plus fixed replies for the calls under
// test, in the shapes of dvol-reference §2.
func fakeREST(t *testing.T, replies map[string]func(w http.ResponseWriter, r *http.Request)) *httptest.Server {
	t.Helper()
	j := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux := &overlayMux{ServeMux: http.NewServeMux(), replaced: replies}
	mux.HandleFunc("/api/login", func(w http.ResponseWriter, r *http.Request) { j(w, 200, "token123") })
	mux.HandleFunc("/api/version", func(w http.ResponseWriter, r *http.Request) { j(w, 200, "3.6") })
	mux.HandleFunc("/api/types/System/instances", func(w http.ResponseWriter, r *http.Request) {
		j(w, 200, []map[string]any{{"id": "sys1", "name": "lab", "links": []map[string]string{{"rel": "/api/System/relationship/ProtectionDomain", "href": "/api/instances/System::sys1/relationships/ProtectionDomain"}}}})
	})
	mux.HandleFunc("/api/instances/System::sys1/relationships/ProtectionDomain", func(w http.ResponseWriter, r *http.Request) {
		j(w, 200, []map[string]any{{"id": "pd1", "name": "pd1", "links": []map[string]string{{"rel": "/api/ProtectionDomain/relationship/StoragePool", "href": "/api/instances/ProtectionDomain::pd1/relationships/StoragePool"}}}})
	})
	mux.HandleFunc("/api/instances/ProtectionDomain::pd1/relationships/StoragePool", func(w http.ResponseWriter, r *http.Request) {
		j(w, 200, []map[string]any{{"id": "sp1", "name": "sp1", "protectionDomainId": "pd1", "mediaType": "HDD"}})
	})
	mux.HandleFunc("/api/instances/StoragePool::sp1", func(w http.ResponseWriter, r *http.Request) {
		j(w, 200, map[string]any{"id": "sp1", "name": "sp1", "protectionDomainId": "pd1", "mediaType": "HDD", "links": []map[string]string{{"rel": "/api/StoragePool/relationship/Statistics", "href": "/api/instances/StoragePool::sp1/relationships/Statistics"}}})
	})
	for path, fn := range replies {
		mux.ServeMux.HandleFunc(path, fn)
	}
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// overlayMux registers a default path only when the test gives no reply of its own for it.
type overlayMux struct {
	*http.ServeMux
	replaced map[string]func(w http.ResponseWriter, r *http.Request)
}

func (m *overlayMux) HandleFunc(path string, fn func(w http.ResponseWriter, r *http.Request)) {
	if _, ok := m.replaced[path]; !ok {
		m.ServeMux.HandleFunc(path, fn)
	}
}

func apiError(code int, msg string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(500)
		_ = json.NewEncoder(w).Encode(map[string]any{"message": msg, "httpStatusCode": 500, "errorCode": code})
	}
}

func TestErrorCodesBecomeSentinels(t *testing.T) {
	tests := []struct {
		name string
		path string
		code int
		msg  string
		call func(g *Client) error
		want error // nil: the call must succeed (an "already so" code)
	}{
		{"79 on queryIdByKey is not found", "/api/types/Volume/instances/action/queryIdByKey", 79, "Could not find the volume",
			func(g *Client) error { _, err := g.FindVolume(context.Background(), "dv-x"); return err }, ErrNotFound},
		{"81 on addMappedSdc is success", "/api/instances/Volume::v1/action/addMappedSdc", 81, "The volume is already mapped to this SDC",
			func(g *Client) error { return g.Map(context.Background(), "v1", "s1") }, nil},
		{"84 on removeMappedSdc is success", "/api/instances/Volume::v1/action/removeMappedSdc", 84, "The volume is not mapped to this SDC",
			func(g *Client) error { return g.Unmap(context.Background(), "v1", "s1") }, nil},
		{"79 on removeVolume is success", "/api/instances/Volume::v1/action/removeVolume", 79, "Could not find the volume",
			func(g *Client) error { return g.RemoveVolume(context.Background(), "v1") }, nil},
		{"226 on create is name too long", "/api/types/Volume/instances", 226, "The given name exceeds the allowed length of 31 characters",
			func(g *Client) error {
				_, err := g.CreateVolume(context.Background(), strings.Repeat("x", 32), 8, true, "sp1")
				return err
			}, ErrNameTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakeREST(t, map[string]func(http.ResponseWriter, *http.Request){tc.path: apiError(tc.code, tc.msg)})
			g := New(Config{URL: srv.URL, User: "admin", Password: "pw", System: "sys1", Insecure: true, CallTimeout: 5 * time.Second})
			err := tc.call(g)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v is not %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q lost the gateway's message %q", err, tc.msg)
			}
		})
	}
}

func TestUnreachableGatewayFailsInTime(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	g := New(Config{URL: srv.URL, User: "admin", Password: "pw", System: "sys1", Insecure: true, CallTimeout: 1 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	_, err := g.FindVolume(ctx, "dv-x")
	if err == nil {
		t.Fatal("want an error from a gateway that never answers")
	}
	if d := time.Since(start); d > 3500*time.Millisecond {
		t.Fatalf("took %v: the call is not bounded", d)
	}
}

// TestCreateVolumeSendsSizeInKbWithoutWrapping checks the size sent to the gateway at both ends
// of the range, and that sizes outside it never reach the gateway (2^44 GB used to wrap to 8 GB).
func TestCreateVolumeSendsSizeInKbWithoutWrapping(t *testing.T) {
	tests := []struct {
		name   string
		sizeGB int
		wantKb string // "" means refused before any call
	}{
		{"8 GB", 8, "8388608"},
		{"1 PB, the largest", 1 << 20, "1099511627776"},
		{"one GB over 1 PB", 1<<20 + 8, ""},
		{"2^44 + 8 GB", 1<<44 + 8, ""},
		{"max int64", 1<<63 - 1, ""},
		{"zero", 0, ""},
		{"negative", -8, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			calls := 0
			srv := fakeREST(t, map[string]func(http.ResponseWriter, *http.Request){
				"/api/types/Volume/instances": func(w http.ResponseWriter, r *http.Request) {
					calls++
					var body map[string]any
					_ = json.NewDecoder(r.Body).Decode(&body)
					got, _ = body["volumeSizeInKb"].(string)
					w.Header().Set("Content-Type", "application/json")
					_ = json.NewEncoder(w).Encode(map[string]string{"id": "v1"})
				},
			})
			g := New(Config{URL: srv.URL, User: "admin", Password: "pw", System: "sys1", Insecure: true, CallTimeout: 5 * time.Second})
			_, err := g.CreateVolume(context.Background(), "dv-x", tc.sizeGB, true, "sp1")
			if tc.wantKb == "" {
				if err == nil || !strings.Contains(err.Error(), "out of range") || calls != 0 {
					t.Fatalf("want a refusal before any call, got err=%v after %d call(s)", err, calls)
				}
				return
			}
			if err != nil || got != tc.wantKb {
				t.Fatalf("sent volumeSizeInKb=%q (err %v), want %q", got, err, tc.wantKb)
			}
		})
	}
}
