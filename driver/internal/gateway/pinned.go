package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// PinnedForwarder serves the gateway on a loopback address, over connections to the gateway
// whose certificate is exactly the pinned one (sha256 of its DER). It exists because goscaleio
// builds its own TLS transport (name checks against system or SSL_CERT_FILE roots, or none at
// all): a gateway's self-signed certificate that does not name the address the plugin uses
// (ScaleIO's default one names the host, CN only) could only be trusted by turning checks off.
// The loopback leg is plain HTTP inside the host, visible only to root.
type PinnedForwarder struct {
	// URL is what goscaleio should use instead of the gateway's: http://127.0.0.1:<port>.
	URL string
	srv *http.Server
}

// ErrCertificateMismatch: the gateway presented another certificate than the pinned one.
var ErrCertificateMismatch = errors.New("the gateway's certificate is not the pinned one")

// pinnedTLS verifies the peer by its leaf certificate's sha256 alone (pinning replaces the
// name and chain checks, which is why InsecureSkipVerify is set). A changed certificate is
// refused with the steps to accept it (acceptSteps).
func pinnedTLS(pin []byte, host, configPath string) *tls.Config {
	return &tls.Config{
		InsecureSkipVerify: true, // #nosec G402: VerifyConnection checks the pinned certificate
		MinVersion:         tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return ErrCertificateMismatch
			}
			got := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if !bytes.Equal(got[:], pin) {
				return fmt.Errorf("%w: %s", ErrCertificateMismatch, acceptSteps(host, configPath, got[:], pin))
			}
			return nil
		},
	}
}

// acceptSteps says which certificate the gateway presented and how to accept it when it was
// replaced on purpose (the installer re-pins; or by hand), or to find out what answers instead.
func acceptSteps(host, configPath string, got, pinned []byte) string {
	if configPath == "" {
		configPath = "the plugin config"
	}
	return fmt.Sprintf("%s presented a certificate with sha256 %x, the plugin pins %x. If the gateway's certificate was replaced on purpose, run `pulumi up` again (the installer fetches the gateway's certificate and pins it on every Docker host), or on this host set \"gatewayCertSha256\": \"%x\" in %s and run `systemctl restart scaleio-volume-plugin`; if not, find out what answers at %s before trusting it", host, got, pinned, got, configPath, host)
}

// StartPinnedForwarder listens on 127.0.0.1 (a free port) and forwards to gateway (an https
// URL), verifying the gateway's certificate against pinHex (64 hex digits). Close stops it.
func StartPinnedForwarder(gateway, pinHex string) (*PinnedForwarder, error) {
	return StartPinnedForwarderFor(gateway, pinHex, "")
}

// StartPinnedForwarderFor is StartPinnedForwarder naming configPath (where gatewayCertSha256
// is set) in the steps of a certificate mismatch. The forwarder's own failures (gateway down,
// certificate refused) reach goscaleio as the gateway's JSON error shape {message,
// httpStatusCode, errorCode} with HTTP 502, so they arrive whole in the plugin's error.
func StartPinnedForwarderFor(gateway, pinHex, configPath string) (*PinnedForwarder, error) {
	target, err := url.Parse(gateway)
	if err != nil || target.Scheme != "https" || target.Host == "" {
		return nil, fmt.Errorf("gateway %q: a pinned certificate needs an https URL", gateway)
	}
	pin, err := hex.DecodeString(pinHex)
	if err != nil || len(pin) != sha256.Size {
		return nil, fmt.Errorf("gatewayCertSha256 %q: want 64 hex digits", pinHex)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("pinned gateway forwarder: %v", err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{TLSClientConfig: pinnedTLS(pin, target.Host, configPath), TLSHandshakeTimeout: 15 * time.Second, DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext}
	proxy.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		_ = json.NewEncoder(w).Encode(map[string]any{"message": "gateway " + target.Host + ": " + err.Error(), "httpStatusCode": http.StatusBadGateway, "errorCode": 0})
	}
	f := &PinnedForwarder{URL: "http://" + ln.Addr().String(), srv: &http.Server{Handler: proxy, ReadHeaderTimeout: 30 * time.Second}}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

// Close stops the forwarder.
func (f *PinnedForwarder) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return f.srv.Shutdown(ctx)
}
