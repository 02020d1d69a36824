package plugin

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon/azmontest"
	"github.com/keeper-azmon/keeper-azmon/internal/testkit"
)

// authProps are the emulator's endpoint and CA with no credential at all.
func authProps(s *azmontest.Server, kv ...string) MapProperties {
	return with(emulatorProps(s, "Custom-KeeperLogs_CL", "tenant_id", "<unset>", "client_id", "<unset>", "client_secret", "<unset>"), kv...)
}

func mustFlush(t *testing.T, in *Instance, first, n int) {
	t.Helper()
	if code := in.Flush(keeperEvents(first, n), "keeper"); code != OK {
		t.Fatalf("flush = %d, want OK", code)
	}
}

func TestAuthClientCertificate(t *testing.T) {
	cert, _, pemBytes := azmontest.GenerateClientCertificate("keeper-azmon-test")
	s := azmontest.NewServer(azmontest.Options{ClientCertificates: []*x509.Certificate{cert}})
	defer s.Close()
	path := filepath.Join(t.TempDir(), "client.pem")
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, chain := range []string{"off", "on"} {
		t.Run("send_certificate_chain="+chain, func(t *testing.T) {
			s.Reset()
			// auth is inferred from the certificate path.
			in, logs := newInstance(t, authProps(s, "tenant_id", s.Opts.TenantID, "client_id", s.Opts.ClientID,
				"client_certificate_path", path, "send_certificate_chain", chain))
			mustFlush(t, in, 0, 5)
			if got := len(s.Rows("Custom-KeeperLogs_CL")); got != 5 {
				t.Errorf("%d rows, want 5", got)
			}
			if !strings.Contains(logs.String(), "chose client_certificate") {
				t.Errorf("inferred mode not logged:\n%s", logs)
			}
		})
	}
}

func TestAuthClientSecretFile(t *testing.T) {
	s := azmontest.NewServer(azmontest.Options{})
	defer s.Close()
	path := filepath.Join(t.TempDir(), "client-secret")
	if err := os.WriteFile(path, []byte(s.Opts.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in, _ := newInstance(t, authProps(s, "tenant_id", s.Opts.TenantID, "client_id", s.Opts.ClientID, "client_secret_file", path))
	mustFlush(t, in, 0, 3)
}

// TestAuthWorkloadIdentityRotation runs as AKS would: the identity comes
// from the environment, and the token file is rotated while the plugin runs.
func TestAuthWorkloadIdentityRotation(t *testing.T) {
	s := azmontest.NewServer(azmontest.Options{TokenLifetime: 2 * time.Second})
	defer s.Close()
	file := s.WriteTokenFile(s.FederatedToken(3 * time.Second))
	for k, v := range testkit.WorkloadIdentityEnv(s, file) {
		t.Setenv(k, v)
	}
	props := authProps(s, "authority_host", "<unset>")
	in, logs := newInstance(t, props)
	mustFlush(t, in, 0, 5)
	if !strings.Contains(logs.String(), "chose workload_identity") {
		t.Errorf("inferred mode not logged:\n%s", logs)
	}

	// Kubernetes writes a new token; the old one and the access token
	// expire. The next flush must read the new file content.
	if err := os.WriteFile(file, []byte(s.FederatedToken(time.Hour)), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3500 * time.Millisecond)
	mustFlush(t, in, 5, 5)
	if got := len(s.Rows("Custom-KeeperLogs_CL")); got != 10 {
		t.Errorf("%d rows, want 10", got)
	}
	if s.TokenRequests() < 2 {
		t.Errorf("no new token after the access token expired")
	}
}

func TestAuthManagedIdentity(t *testing.T) {
	s := azmontest.NewServer(azmontest.Options{})
	defer s.Close()
	for k, v := range s.ManagedIdentityEnv() {
		t.Setenv(k, v)
	}
	in, _ := newInstance(t, authProps(s, "auth", "managed_identity", "managed_identity_client_id", s.Opts.ManagedIdentityClientID))
	mustFlush(t, in, 0, 5)
	if s.ManagedIdentityRequests() == 0 {
		t.Error("the managed identity endpoint was not asked")
	}
	if got := len(s.Rows("Custom-KeeperLogs_CL")); got != 5 {
		t.Errorf("%d rows, want 5", got)
	}
}

// TestStaleTokenOneRefresh: 16 concurrent flushes that find the token stale
// cause exactly one token request.
func TestStaleTokenOneRefresh(t *testing.T) {
	s := azmontest.NewServer(azmontest.Options{TokenLifetime: 2 * time.Second})
	defer s.Close()
	in, _ := newInstance(t, emulatorProps(s, "Custom-KeeperLogs_CL"))
	mustFlush(t, in, 0, 1)
	if s.TokenRequests() != 1 {
		t.Fatalf("%d token requests, want 1", s.TokenRequests())
	}
	time.Sleep(1200 * time.Millisecond) // past half its life: stale
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code := in.Flush(keeperEvents(1000*(w+1), 10), "keeper"); code != OK {
				t.Errorf("flush %d = %d", w, code)
			}
		}()
	}
	wg.Wait()
	if got := s.TokenRequests(); got != 2 {
		t.Errorf("%d token requests after 16 concurrent flushes on a stale token, want 2 (one refresh)", got)
	}
}
