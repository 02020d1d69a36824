package test

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
	"github.com/keeper-azmon/keeper-azmon/internal/testkit"
)

// noCredential is the emulator's endpoint and CA with no credential at all,
// so that each case sets only what its auth mode needs.
func noCredential(s *azmontest.Server, overrides ...prop) []prop {
	base := []prop{{"tenant_id", unset}, {"client_id", unset}, {"client_secret", unset}}
	return props(s, "Custom-KeeperLogs_CL", append(base, overrides...)...)
}

// TestAuthModes loads the plugin through the C host once per auth mode, as
// Fluent Bit would on a VM, in AKS, or with a certificate, and checks that
// the events land and that the start line names the mode.
func TestAuthModes(t *testing.T) {
	cert, _, certPEM := azmontest.GenerateClientCertificate("keeper-azmon-e2e")
	tests := []struct {
		name  string
		opts  azmontest.Options
		setup func(t *testing.T, s *azmontest.Server) []prop
		mode  string
	}{
		{"client_secret", azmontest.Options{}, func(t *testing.T, s *azmontest.Server) []prop {
			return props(s, "Custom-KeeperLogs_CL")
		}, "client_secret"},
		{"client_secret_file", azmontest.Options{}, func(t *testing.T, s *azmontest.Server) []prop {
			f := filepath.Join(t.TempDir(), "client-secret")
			if err := os.WriteFile(f, []byte(s.Opts.ClientSecret+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return noCredential(s, prop{"tenant_id", s.Opts.TenantID}, prop{"client_id", s.Opts.ClientID}, prop{"client_secret_file", f})
		}, "client_secret"},
		{"client_certificate", azmontest.Options{ClientCertificates: []*x509.Certificate{cert}}, func(t *testing.T, s *azmontest.Server) []prop {
			f := filepath.Join(t.TempDir(), "client.pem")
			if err := os.WriteFile(f, certPEM, 0o600); err != nil {
				t.Fatal(err)
			}
			return noCredential(s, prop{"tenant_id", s.Opts.TenantID}, prop{"client_id", s.Opts.ClientID},
				prop{"client_certificate_path", f}, prop{"send_certificate_chain", "on"})
		}, "client_certificate"},
		{"workload_identity", azmontest.Options{}, func(t *testing.T, s *azmontest.Server) []prop {
			// What the AKS webhook injects into the pod.
			for k, v := range testkit.WorkloadIdentityEnv(s, s.WriteTokenFile(s.FederatedToken(time.Hour))) {
				t.Setenv(k, v)
			}
			return noCredential(s, prop{"authority_host", unset})
		}, "workload_identity"},
		{"managed_identity", azmontest.Options{}, func(t *testing.T, s *azmontest.Server) []prop {
			for k, v := range s.ManagedIdentityEnv() {
				t.Setenv(k, v)
			}
			return noCredential(s, prop{"managed_identity_client_id", s.Opts.ManagedIdentityClientID})
		}, "managed_identity"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := azmontest.NewServer(tc.opts)
			defer s.Close()
			ps := tc.setup(t, s)
			h := startHost(t)
			h.forbid(s.Opts.ClientSecret)
			h.register()
			h.mustInstance("a", ps)
			events := genEvents(tc.name, 50, 7)
			if rc := h.flush("a", "keeper.events", chunkOf(formats()[0], events)); rc != flbOK {
				t.Fatalf("flush = %s\n%s", rcName(rc), h.log())
			}
			checkExactlyOnce(t, s.Rows("Custom-KeeperLogs_CL"), idsOf(events))
			if log := h.log(); !strings.Contains(log, "auth="+tc.mode) {
				t.Errorf("the start line does not name auth %s:\n%s", tc.mode, log)
			}
		})
	}
}

// TestWorkloadIdentityTokenRotation: Kubernetes replaces the projected
// service account token while Fluent Bit runs; once the access token
// expires, the plugin must use the new file content.
func TestWorkloadIdentityTokenRotation(t *testing.T) {
	s := azmontest.NewServer(azmontest.Options{TokenLifetime: 2 * time.Second})
	defer s.Close()
	file := s.WriteTokenFile(s.FederatedToken(3 * time.Second))
	for k, v := range testkit.WorkloadIdentityEnv(s, file) {
		t.Setenv(k, v)
	}
	h := startHost(t)
	h.register()
	h.mustInstance("a", noCredential(s, prop{"auth", "workload_identity"}, prop{"authority_host", unset}))
	first := genEvents("before", 20, 1)
	if rc := h.flush("a", "keeper.events", chunkOf(formats()[0], first)); rc != flbOK {
		t.Fatalf("flush before rotation = %s\n%s", rcName(rc), h.log())
	}
	if err := os.WriteFile(file, []byte(s.FederatedToken(time.Hour)), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3500 * time.Millisecond) // the old federated token and the access token expire
	second := genEvents("after", 20, 2)
	if rc := h.flush("a", "keeper.events", chunkOf(formats()[0], second)); rc != flbOK {
		t.Fatalf("flush after rotation = %s\n%s", rcName(rc), h.log())
	}
	checkExactlyOnce(t, s.Rows("Custom-KeeperLogs_CL"), append(idsOf(first), idsOf(second)...))
}
